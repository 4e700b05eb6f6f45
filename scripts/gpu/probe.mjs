// Reports the WebGPU adapter Dawn offers (vendor, architecture, features, key limits) and whether an
// f16 compute shader runs correctly, as one JSON line. Dawn instance flags come from the arguments,
// e.g. `node probe.mjs enable-dawn-features=vulkan_enable_f16_on_nvidia`.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const flags = process.argv.slice(2);
const out = { flags, ok: false };
try {
  const gpu = create(flags);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no adapter');
  const info = adapter.info ?? {};
  out.adapter = { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description };
  out.features = [...adapter.features].sort();
  out.shader_f16 = adapter.features.has('shader-f16');
  const L = adapter.limits;
  out.limits = Object.fromEntries(
    ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage']
      .map((k) => [k, L[k]]),
  );
  out.ok = true;
  if (out.shader_f16) {
    // Run a tiny f16 kernel: y[i] = f32(f16(x[i]) * 1.5h); checks the feature really works.
    const device = await adapter.requestDevice({ requiredFeatures: ['shader-f16'] });
    const code = `enable f16;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(4) fn main(@builtin(global_invocation_id) id: vec3u) { y[id.x] = f32(f16(x[id.x]) * 1.5h); }`;
    const module = device.createShaderModule({ code });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const x = new Float32Array([1, 2, 3, 1000]);
    const bx = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const by = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const rb = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(bx, 0, x);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: bx } }, { binding: 1, resource: { buffer: by } }] }));
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(by, 0, rb, 0, 16);
    device.queue.submit([enc.finish()]);
    await rb.mapAsync(GPUMapMode.READ);
    const y = [...new Float32Array(rb.getMappedRange().slice(0))];
    out.f16_kernel = { y, ok: y[0] === 1.5 && y[1] === 3 && y[2] === 4.5 && y[3] === 1500 };
    device.destroy();
  }
} catch (e) {
  out.error = String(e?.message ?? e);
}
process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
