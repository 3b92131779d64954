// RUN: %kiln-opt %s -kiln-gpu-check-host -verify-diagnostics -split-input-file
// On the GPU target the host holds device pointers: a load, store or copy
// left outside a kernel is refused at compile time.

func.func @host_load(%m: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{kilnc --target=cuda cannot run 'memref.load' on the GPU: it would read device memory on the host}}
  %v = memref.load %m[%c0] : memref<4xf32>
  return %v : f32
}

// -----

func.func @host_copy(%a: memref<4xf32>, %b: memref<4xf32>) {
  // expected-error @+1 {{cannot run 'linalg.copy' on the GPU}}
  linalg.copy ins(%a : memref<4xf32>) outs(%b : memref<4xf32>)
  return
}

// -----

// Sizes, views and launches are host work.
module attributes {gpu.container_module} {
  func.func @views_and_launches(%arena: memref<?xi8>, %n: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %v = memref.view %arena[%c0][%n] : memref<?xi8> to memref<?xf32>
    %d = memref.dim %v, %c0 : memref<?xf32>
    gpu.launch_func @k::@k blocks in (%d, %c1, %c1) threads in (%c1, %c1, %c1) args(%v : memref<?xf32>)
    return
  }
  gpu.module @k {
    gpu.func @k(%m: memref<?xf32>) kernel {
      gpu.return
    }
  }
}
