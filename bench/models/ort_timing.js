// The ONNX Runtime column of bench/models.sh: CLIP ViT-B/32's image encoder
// (bench/models/onnx_export.py) on onnxruntime-node's CPU provider, every graph
// optimization on, THREADS intra-op threads; the median of 7 calls after a
// warm-up, on the same synthetic images as bench/models/clip_timing.c.
//
//   node ort_timing.js MODEL.onnx "B1 B2 ..." THREADS
//
// Prints `encode_image B=<b> ms <t>`, as the other columns do. onnxruntime-node
// is found through NODE_PATH (bench/models.sh installs it under build-bench/).
'use strict';
const ort = require('onnxruntime-node');

const REPS = 7;
const RESOLUTION = 224;

async function main() {
  const [modelPath, batches, threads] = process.argv.slice(2);
  if (!threads) {
    console.error('usage: node ort_timing.js MODEL.onnx "B1 B2 ..." THREADS');
    process.exit(2);
  }
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  for (const batch of batches.split(' ').filter((b) => b).map(Number)) {
    const size = batch * 3 * RESOLUTION * RESOLUTION;
    const images = new Float32Array(size);
    for (let i = 0; i < size; ++i)
      images[i] = Number((BigInt(i) * 2654435761n) % 1000n) / 500 - 1;
    const feeds = { image: new ort.Tensor('float32', images, [batch, 3, RESOLUTION, RESOLUTION]) };
    const samples = [];
    for (let rep = -1; rep < REPS; ++rep) {
      const start = process.hrtime.bigint();
      await session.run(feeds);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (rep >= 0)
        samples.push(ms);
    }
    samples.sort((a, b) => a - b);
    console.log(`encode_image B=${batch} ms ${samples[REPS >> 1].toFixed(3)}`);
  }
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  process.exit(1);
});
