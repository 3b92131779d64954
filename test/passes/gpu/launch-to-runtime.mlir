// RUN: %kiln-opt %s -kiln-gpu-launch-to-runtime | FileCheck %s
// Each launch becomes a call of the runtime's launcher: the kernel's number
// (in order of first launch, listed on the module), grid and block sizes,
// and the parameters as convert-gpu-to-nvvm lays them out, a 64-bit slot
// each: a memref as aligned pointer twice, offset, sizes, strides.

// CHECK: module attributes {gpu.container_module, kiln.gpu_kernels = [@scale::@scale, @fill::@fill]}
// CHECK-LABEL: func.func @entry
// CHECK-SAME: (%[[X:.*]]: memref<?x4xf32>, %[[N:.*]]: index, %[[S:.*]]: f32)
// CHECK: %[[PTR:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// CHECK: %[[PTR64:.*]] = arith.index_castui %[[PTR]] : index to i64
// CHECK: %{{.*}}, %[[OFF:.*]], %[[SIZES:.*]]:2, %[[STRIDES:.*]]:2 = memref.extract_strided_metadata %[[X]]
// CHECK: %[[BITS:.*]] = arith.bitcast %[[S]] : f32 to i32
// CHECK: %[[S64:.*]] = arith.extui %[[BITS]] : i32 to i64
// CHECK: %[[SLOTS:.*]] = memref.alloca() : memref<8xi64>
// CHECK: memref.store %[[PTR64]], %[[SLOTS]][%{{.*}}]
// CHECK-NEXT: %{{.*}} = arith.constant 1 : index
// CHECK-NEXT: memref.store %[[PTR64]], %[[SLOTS]][%{{.*}}]
// CHECK: %[[C7:.*]] = arith.constant 7 : index
// CHECK-NEXT: memref.store %[[S64]], %[[SLOTS]][%[[C7]]]
// CHECK: %[[ADDRESS:.*]] = llvm.inttoptr
// CHECK: %[[KERNEL:.*]] = arith.constant 0 : i32
// CHECK: %[[COUNT:.*]] = arith.constant 8 : i32
// CHECK-NEXT: call @kiln_rt_gpu_launch(%[[KERNEL]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ADDRESS]], %[[COUNT]])
// CHECK: memref.alloca() : memref<1xi64>
// CHECK: %[[FILL:.*]] = arith.constant 1 : i32
// CHECK: call @kiln_rt_gpu_launch(%[[FILL]],
// CHECK: memref.alloca() : memref<8xi64>
// CHECK: %[[AGAIN:.*]] = arith.constant 0 : i32
// CHECK: call @kiln_rt_gpu_launch(%[[AGAIN]],
// CHECK-NOT: gpu.launch_func
// CHECK: func.func private @kiln_rt_gpu_launch(i32, i64, i64, i64, i64, i64, i64, !llvm.ptr, i32)
module attributes {gpu.container_module} {
  func.func @entry(%x: memref<?x4xf32>, %n: index, %s: f32) {
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    gpu.launch_func @scale::@scale blocks in (%n, %c1, %c1) threads in (%c16, %c1, %c1) args(%x : memref<?x4xf32>, %s : f32)
    gpu.launch_func @fill::@fill blocks in (%n, %c1, %c1) threads in (%c16, %c1, %c1) args(%n : index)
    gpu.launch_func @scale::@scale blocks in (%n, %c1, %c1) threads in (%c16, %c1, %c1) args(%x : memref<?x4xf32>, %s : f32)
    return
  }
  gpu.binary @scale [#gpu.object<#nvvm.target<chip = "sm_80">, assembly = "ptx">]
  gpu.binary @fill [#gpu.object<#nvvm.target<chip = "sm_80">, assembly = "ptx">]
}
