// RUN: %kiln-opt %s -kiln-gpu-merge-kernels | FileCheck %s
// gpu-kernel-outlining makes one module per kernel; the runtime would load
// and JIT each at create time. They become one module, each kernel named
// after its old module in PTX's alphabet (a method function's dot becomes
// _), and the launches follow.

// CHECK-LABEL: func.func @Block.forward
// CHECK: gpu.launch_func  @kiln_kernels::@Block_forward_kernel
// CHECK: gpu.launch_func  @kiln_kernels::@plain_kernel_0
// CHECK: gpu.launch_func  @kiln_kernels::@Block_forward_kernel
// CHECK: gpu.module @kiln_kernels {
// CHECK-NEXT: gpu.func @Block_forward_kernel(%{{.*}}: memref<4xf32>) kernel
// CHECK: gpu.func @plain_kernel_0() kernel
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @"Block.forward"(%m: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @"Block.forward_kernel"::@"Block.forward_kernel" blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<4xf32>)
    gpu.launch_func @plain_kernel_0::@plain_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @"Block.forward_kernel"::@"Block.forward_kernel" blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<4xf32>)
    return
  }
  gpu.module @"Block.forward_kernel" {
    gpu.func @"Block.forward_kernel"(%m: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @plain_kernel_0 {
    gpu.func @plain_kernel() kernel {
      gpu.return
    }
  }
}
