/** Errors that name the input and the problem ("cat.png: not a PNG or JPEG file"). Every layer uses it. */
export class InputError extends Error {
  constructor(
    public readonly input: string,
    public readonly problem: string,
  ) {
    super(`${input}: ${problem}`);
    this.name = 'InputError';
  }
}
