#!/usr/bin/env python3
"""Independent reference of src/engine/rng.ts (xoshiro128** seeded with splitmix32).

Prints the first outputs for the seeds pinned in rng.test.ts:
    python3 src/engine/rng.reference.py
"""

M32 = 0xFFFFFFFF


def splitmix32(counter):
    counter = (counter + 0x9E3779B9) & M32
    z = counter
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
    z = z ^ (z >> 16)
    return counter, z


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class Xoshiro128StarStar:
    def __init__(self, seed):
        c = seed & M32
        self.s = []
        for _ in range(4):
            c, out = splitmix32(c)
            self.s.append(out)

    def next_uint32(self):
        s = self.s
        result = (rotl((s[1] * 5) & M32, 7) * 9) & M32
        t = (s[1] << 9) & M32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 11)
        return result

    def next_float(self):
        a = self.next_uint32() >> 5
        b = self.next_uint32() >> 6
        return (a * 67108864 + b) / 9007199254740992.0


if __name__ == "__main__":
    for seed in (0, 42, 0xFFFFFFFF):
        r = Xoshiro128StarStar(seed)
        print(seed, "state", r.s)
        print(seed, "uint32", [r.next_uint32() for _ in range(8)])
        r = Xoshiro128StarStar(seed)
        print(seed, "float", [repr(r.next_float()) for _ in range(4)])
