// RUN: %kiln-opt %s -kiln-gpu-name-kernels | FileCheck %s
// A method function's kernel is named after it, dot and all; PTX identifiers
// take letters, digits, _ and $ only.

// CHECK-LABEL: func.func @Block.forward
// CHECK: gpu.launch_func  @Block.forward_kernel::@Block_forward_kernel
// CHECK: gpu.launch_func  @plain_kernel::@plain_kernel
// CHECK: gpu.module @Block.forward_kernel
// CHECK-NEXT: gpu.func @Block_forward_kernel()
// CHECK: gpu.func @plain_kernel()
module attributes {gpu.container_module} {
  func.func @"Block.forward"() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @"Block.forward_kernel"::@"Block.forward_kernel" blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @plain_kernel::@plain_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
  gpu.module @"Block.forward_kernel" {
    gpu.func @"Block.forward_kernel"() kernel {
      gpu.return
    }
  }
  gpu.module @plain_kernel {
    gpu.func @plain_kernel() kernel {
      gpu.return
    }
  }
}
