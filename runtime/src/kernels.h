/* The native kernels that generated code calls (kiln.kernel ops, lowered to
 * calls by kiln-lower-kernels). Every tensor argument arrives as MLIR passes
 * an unranked memref: its rank, then a pointer to its ranked descriptor
 * (memref.h). Shapes and strides are read from the descriptors; the compiler
 * has verified them, so kernels do not re-check shapes. Element strides may
 * be anything unless a kernel says otherwise; kernels are fastest on dense
 * row-major data. Kernels use kiln_parallel_for (parallel.h) with the
 * calling thread's kiln_thread_count(). kiln/kernels.def lists them with
 * their operand counts, for the compiler; kiln/abi.h has the bits of their
 * flags and layout arguments. */
#ifndef KILN_KERNELS_H
#define KILN_KERNELS_H

#include <stdint.h>

#include "kiln/abi.h"
#include "memref.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_MEMREF_ARG(name) int64_t name##_rank, kiln_memref *name

/* Softmax + cross-entropy (kiln.softmax_cross_entropy). logits: f32 [N, C];
 * targets: i64 [N]; loss: f32 rank 0, the mean over n of
 * lse_n - logits[n, targets[n]] with lse_n = logsumexp(logits[n, :]); NaN when
 * a target is outside [0, C). Each row of logits is read from memory once:
 * an online max and sum-exp, never storing probabilities.
 *  _lse also stores lse: f32 [N];
 *  _grad works in place: grad holds the logits f32 [N, C] and is left holding
 *  softmax(logits) - one_hot(targets, C) (the gradient of the summed loss; a
 *  row whose target is out of range gets softmax alone), each row written
 *  right after it is read, while it is still in L2. */
void kiln_rt_softmax_ce_f32(KILN_MEMREF_ARG(logits), KILN_MEMREF_ARG(targets),
                            KILN_MEMREF_ARG(loss));
void kiln_rt_softmax_ce_lse_f32(KILN_MEMREF_ARG(logits), KILN_MEMREF_ARG(targets),
                                KILN_MEMREF_ARG(loss), KILN_MEMREF_ARG(lse));
void kiln_rt_softmax_ce_grad_f32(KILN_MEMREF_ARG(targets), KILN_MEMREF_ARG(loss),
                                 KILN_MEMREF_ARG(grad));

/* Distillation's soft term (kiln.softmax_kl_div): student, teacher f32
 * [N, C] -> loss f32 rank 0 = (1/N) sum_n KL(softmax(teacher[n] / T) ||
 * softmax(student[n] / T)), PyTorch's kl_div(log_softmax(s / T), softmax(t / T),
 * reduction="batchmean"). Each row of both is read once (online max, sum-exp
 * and the teacher-weighted difference); NaN when N = 0. */
void kiln_rt_softmax_kl_div_f32(KILN_MEMREF_ARG(student), KILN_MEMREF_ARG(teacher),
                                KILN_MEMREF_ARG(loss), double temperature);

/* kiln_rt_softmax_kl_div_f32's loss and its gradient (kiln.softmax_kl_div_grad):
 * grad f32 [N, C] = softmax(student / T) - softmax(teacher / T), row by row,
 * from the same pass's maxima and sums and one more read of the rows. */
void kiln_rt_softmax_kl_div_grad_f32(KILN_MEMREF_ARG(student), KILN_MEMREF_ARG(teacher),
                                     KILN_MEMREF_ARG(loss), KILN_MEMREF_ARG(grad),
                                     double temperature);

/* Distillation's two terms at once (kiln.distillation_loss): student,
 * teacher f32 [N, C], targets i64 [N] -> soft = the loss of
 * kiln_rt_softmax_kl_div_f32 (temperature T) and hard =
 * cross_entropy(student, targets) at temperature 1, both rank-0 f32 means.
 * Each row of both matrices is read once. A target outside [0, C) makes hard
 * NaN and leaves soft alone; NaN for both when N = 0. */
void kiln_rt_distillation_f32(KILN_MEMREF_ARG(student), KILN_MEMREF_ARG(teacher),
                              KILN_MEMREF_ARG(targets), KILN_MEMREF_ARG(soft),
                              KILN_MEMREF_ARG(hard), double temperature);

/* CLIP's contrastive loss in both directions (kiln.contrastive_cross_entropy):
 * logits f32 [N, N], targets i64 [N] -> row_loss = cross_entropy(logits,
 * targets) and col_loss = cross_entropy(transpose(logits), targets), both
 * rank-0 f32 means. The matrix is read once: row logsumexps online per row,
 * column logsumexps in running per-column max / sum arrays. A target outside
 * [0, N) makes both losses NaN. */
void kiln_rt_contrastive_ce_f32(KILN_MEMREF_ARG(logits), KILN_MEMREF_ARG(targets),
                                KILN_MEMREF_ARG(row_loss), KILN_MEMREF_ARG(col_loss));

/* kiln_rt_contrastive_ce_f32's losses and their gradients
 * (kiln.contrastive_cross_entropy_grad): row_grad, col_grad f32 [N, N] in the
 * logits' layout, softmax(logits, 1) - one_hot(t) and softmax(logits, 0) -
 * one_hot(t)^T. NaN throughout for a target out of range. */
void kiln_rt_contrastive_ce_grad_f32(KILN_MEMREF_ARG(logits), KILN_MEMREF_ARG(targets),
                                     KILN_MEMREF_ARG(row_loss), KILN_MEMREF_ARG(col_loss),
                                     KILN_MEMREF_ARG(row_grad), KILN_MEMREF_ARG(col_grad));

/* The same with one gradient, row_scale * row_grad + col_scale * col_grad
 * (kiln.contrastive_cross_entropy_grad_sum; the scales f32 rank 0). */
void kiln_rt_contrastive_ce_grad_sum_f32(KILN_MEMREF_ARG(logits), KILN_MEMREF_ARG(targets),
                                         KILN_MEMREF_ARG(row_scale), KILN_MEMREF_ARG(col_scale),
                                         KILN_MEMREF_ARG(row_loss), KILN_MEMREF_ARG(col_loss),
                                         KILN_MEMREF_ARG(grad));

/* Scaled dot-product attention (kiln.attention), flash-attention style:
 * query f32 [B, H, S, D], key [B, H, T, D], value [B, H, T, E] -> out
 * [B, H, S, E] = softmax(scale * q k^T + masks) v over T, computed a block of
 * queries against a block of keys at a time with an online softmax, never
 * forming the S x T scores. causal != 0 hides keys t > s (blocks entirely
 * above the diagonal are skipped); _masked takes mask: i1 (one byte per
 * element, 0 or 1) [B, T], true = attend. A row with every key hidden is NaN,
 * as in PyTorch. Parallel over B x H x query blocks. layout: bits
 * KILN_ATTENTION_LAYOUT_{QUERY,KEY,VALUE,OUT}. */
void kiln_rt_attention_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                           KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(out), double scale,
                           int64_t causal, int64_t layout);
void kiln_rt_attention_masked_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                  KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(mask),
                                  KILN_MEMREF_ARG(out), double scale, int64_t causal,
                                  int64_t layout);
/* The same with an additive score bias (kiln.attention's `bias`): bias f32 of
 * rank <= 4 aligned to the right of the scores' [B, H, S, T] (a missing dim
 * broadcasts), each dim that size or 1 (broadcast), added
 * to scale * q k^T before the softmax (a 0 / -inf mask, ALiBi, ...). A -inf
 * bias hides a key exactly as the masks do (rows with every key hidden are
 * NaN); causal still applies on top. */
void kiln_rt_attention_bias_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(bias),
                                KILN_MEMREF_ARG(out), double scale, int64_t causal,
                                int64_t layout);

/* The same three writing also lse f32 [B, H, S], each query's logsumexp of
 * its scaled, biased and masked scores (-inf when every key is hidden), for
 * the backward's _lse kernels: a train step's forward and backward of one
 * attention. */
void kiln_rt_attention_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                               KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(lse),
                               double scale, int64_t causal, int64_t layout);
void kiln_rt_attention_masked_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                      KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(mask),
                                      KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(lse), double scale,
                                      int64_t causal, int64_t layout);
void kiln_rt_attention_bias_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                    KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(bias),
                                    KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(lse), double scale,
                                    int64_t causal, int64_t layout);

/* The backward of the three above (kiln.attention_grad), flash-attention
 * style: from query, key, value (and mask or bias) as there, the forward's
 * out [B, H, S, E] and its cotangent dout [B, H, S, E] -> dquery, dkey,
 * dvalue of query's, key's and value's shapes. Each query's logsumexp is
 * recomputed, or read from lse [B, H, S] after dout in the _lse kernels
 * (written by the forward's _lse kernel); then a block of queries against
 * a block of keys at a time, the S x T probabilities are never formed. A query with every key hidden (NaN
 * out) gets NaN gradients. Parallel over B x H. layout: any bits of
 * KILN_ATTENTION_LAYOUT_*. */
void kiln_rt_attention_grad_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(out),
                                KILN_MEMREF_ARG(dout), KILN_MEMREF_ARG(dquery),
                                KILN_MEMREF_ARG(dkey), KILN_MEMREF_ARG(dvalue), double scale,
                                int64_t causal, int64_t layout);
void kiln_rt_attention_grad_masked_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                       KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(mask),
                                       KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(dout),
                                       KILN_MEMREF_ARG(dquery), KILN_MEMREF_ARG(dkey),
                                       KILN_MEMREF_ARG(dvalue), double scale, int64_t causal,
                                       int64_t layout);
void kiln_rt_attention_grad_bias_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                     KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(bias),
                                     KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(dout),
                                     KILN_MEMREF_ARG(dquery), KILN_MEMREF_ARG(dkey),
                                     KILN_MEMREF_ARG(dvalue), double scale, int64_t causal,
                                     int64_t layout);
void kiln_rt_attention_grad_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                    KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(out),
                                    KILN_MEMREF_ARG(dout), KILN_MEMREF_ARG(lse),
                                    KILN_MEMREF_ARG(dquery), KILN_MEMREF_ARG(dkey),
                                    KILN_MEMREF_ARG(dvalue), double scale, int64_t causal,
                                    int64_t layout);
void kiln_rt_attention_grad_masked_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                           KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(mask),
                                           KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(dout),
                                           KILN_MEMREF_ARG(lse), KILN_MEMREF_ARG(dquery),
                                           KILN_MEMREF_ARG(dkey), KILN_MEMREF_ARG(dvalue),
                                           double scale, int64_t causal, int64_t layout);
void kiln_rt_attention_grad_bias_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                         KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(bias),
                                         KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(dout),
                                         KILN_MEMREF_ARG(lse), KILN_MEMREF_ARG(dquery),
                                         KILN_MEMREF_ARG(dkey), KILN_MEMREF_ARG(dvalue),
                                         double scale, int64_t causal, int64_t layout);

/* Layer norm's gradients (kiln.layer_norm_grad): x, dout and dx f32 [..., D]
 * (rank 1-6), weight, dweight, dbias [D] -> dx, and the weight's and bias's
 * gradients summed over all rows. Each row's mean and 1 / sqrt(var + eps)
 * are recomputed; parallel over blocks of rows, the row sums combined in a
 * fixed order whatever the thread count. */
void kiln_rt_layer_norm_grad_f32(KILN_MEMREF_ARG(x), KILN_MEMREF_ARG(weight),
                                 KILN_MEMREF_ARG(dout), KILN_MEMREF_ARG(dx),
                                 KILN_MEMREF_ARG(dweight), KILN_MEMREF_ARG(dbias), double eps);

/* RMS norm's gradients (kiln.rms_norm_grad): as layer norm's, without the
 * mean and the bias: x, dout and dx f32 [..., D] (rank 1-6), weight and
 * dweight [D]. Each row's 1 / sqrt(mean(x^2) + eps) is recomputed. */
void kiln_rt_rms_norm_grad_f32(KILN_MEMREF_ARG(x), KILN_MEMREF_ARG(weight),
                               KILN_MEMREF_ARG(dout), KILN_MEMREF_ARG(dx),
                               KILN_MEMREF_ARG(dweight), double eps);

/* Row scatter-add in place (kiln.scatter_add; the gradient of embedding and
 * index_select): indices i64 [E], src f32 [E, D] (or [E]), out f32 [N, D]
 * (or [N]) holding init -> src[e] added to row indices[e] of out for each e;
 * ids outside [0, N) skipped. O(E D); parallel over rows, each row summed in
 * the order of e whatever the thread count. */
void kiln_rt_scatter_add_rows_f32(KILN_MEMREF_ARG(indices), KILN_MEMREF_ARG(src),
                                  KILN_MEMREF_ARG(out));

/* Matmul on oneDNN (kiln.matmul, kiln.fused_linear): c = act(a @ b + bias)
 * + residual, with NumPy batch broadcasting over ranks 2-4. flags:
 * KILN_MATMUL_TRANSPOSE_A / _B and the KILN_ACTIVATION_* code shifted by
 * KILN_MATMUL_ACTIVATION_SHIFT (kiln/abi.h). bias: [N]; residual: c's shape. */
void kiln_rt_dnnl_matmul_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b), KILN_MEMREF_ARG(c),
                             int64_t flags);
void kiln_rt_dnnl_matmul_bias_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b), KILN_MEMREF_ARG(bias),
                                  KILN_MEMREF_ARG(c), int64_t flags);
void kiln_rt_dnnl_matmul_residual_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b),
                                      KILN_MEMREF_ARG(residual), KILN_MEMREF_ARG(c),
                                      int64_t flags);
void kiln_rt_dnnl_matmul_bias_residual_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b),
                                           KILN_MEMREF_ARG(bias), KILN_MEMREF_ARG(residual),
                                           KILN_MEMREF_ARG(c), int64_t flags);

/* The same matmuls in Kiln's own code (--backend=native): packed strips of b,
 * a register-blocked micro-kernel, and the bias, activation and residual
 * applied to the registers before c is written (kernel_native_matmul.c). */
void kiln_rt_native_matmul_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b), KILN_MEMREF_ARG(c),
                               int64_t flags);
void kiln_rt_native_matmul_bias_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b), KILN_MEMREF_ARG(bias),
                                    KILN_MEMREF_ARG(c), int64_t flags);
void kiln_rt_native_matmul_residual_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b),
                                        KILN_MEMREF_ARG(residual), KILN_MEMREF_ARG(c),
                                        int64_t flags);
void kiln_rt_native_matmul_bias_residual_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b),
                                             KILN_MEMREF_ARG(bias), KILN_MEMREF_ARG(residual),
                                             KILN_MEMREF_ARG(c), int64_t flags);

/* The same matmuls with bf16 products and f32 sums (--precision=bf16): f32
 * operands and results, a and b rounded to bf16 as they are packed
 * (kernel_native_matmul_bf16.c). */
void kiln_rt_native_bf16_matmul_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b), KILN_MEMREF_ARG(c),
                                    int64_t flags);
void kiln_rt_native_bf16_matmul_bias_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b),
                                         KILN_MEMREF_ARG(bias), KILN_MEMREF_ARG(c), int64_t flags);
void kiln_rt_native_bf16_matmul_residual_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b),
                                             KILN_MEMREF_ARG(residual), KILN_MEMREF_ARG(c),
                                             int64_t flags);
void kiln_rt_native_bf16_matmul_bias_residual_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b),
                                                  KILN_MEMREF_ARG(bias), KILN_MEMREF_ARG(residual),
                                                  KILN_MEMREF_ARG(c), int64_t flags);

/* Softmax along `axis` (kiln.softmax) and layer normalization over the last
 * dim (kiln.layer_norm: weight and bias [C], epsilon eps) on oneDNN, forward
 * inference, primitives cached as for the matmul. x and out have one shape;
 * rank at most 6. */
void kiln_rt_dnnl_softmax_f32(KILN_MEMREF_ARG(x), KILN_MEMREF_ARG(out), int64_t axis);
void kiln_rt_dnnl_layer_norm_f32(KILN_MEMREF_ARG(x), KILN_MEMREF_ARG(weight),
                                 KILN_MEMREF_ARG(bias), KILN_MEMREF_ARG(out), double eps);

/* 2-D convolution on oneDNN (kiln.conv2d): x [B, C, H, W], weight
 * [O, C, KH, KW], bias [O] -> out [B, O, OH, OW], no padding, the given
 * strides, forward inference; primitives cached as for the matmul. */
void kiln_rt_dnnl_conv2d_f32(KILN_MEMREF_ARG(x), KILN_MEMREF_ARG(weight), KILN_MEMREF_ARG(bias),
                             KILN_MEMREF_ARG(out), int64_t stride_h, int64_t stride_w);

/* How many calls of the oneDNN kernels oneDNN could not serve, so that their
 * plain-loop fallback computed them (for tests: supported problems must never
 * get there). */
long kiln_rt_dnnl_fallbacks(void);

#ifdef __cplusplus
}
#endif

#endif /* KILN_KERNELS_H */
