// The per-time-step fused gate kernels of LSTM, GRU and SimpleRNN (Keras formulas, see
// shendu.ops). The GEMMs around them are sgemm.h: the input projection of all steps at once, the
// recurrent one step by step. All arrays are one time step, (N, G * U) or (N, U), contiguous.
// act / rec name the candidate's and the gates' activations (RnnActivation below).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace shendu::cuda {

// Keras's names, in shendu.ops's order: tanh, sigmoid, relu, hard_sigmoid (relu6(x + 3) / 6),
// linear. Each is differentiated from its output alone.
enum RnnActivation : int { kTanh, kSigmoid, kRelu, kHardSigmoid, kLinear };

// xw = x_t @ W + b, hu = h_prev @ U, gate blocks i, f, c, o. Writes the activated gates (for the
// backward), c and h.
void lstm_step_forward(const float* xw, const float* hu, const float* c_prev, float* gates,
                       float* c, float* h, int64_t N, int64_t U, int act, int rec,
                       cudaStream_t stream);
// dh = dh_out + dh_rec (the gradient from the outputs and from step t + 1). Writes dz (N, 4U), the
// gradient of the gate pre-activations, and replaces dc (in: from step t + 1, out: for step t - 1).
void lstm_step_backward(const float* dh_out, const float* dh_rec, const float* gates,
                        const float* c, const float* c_prev, float* dc, float* dz, int64_t N,
                        int64_t U, int act, int rec, cudaStream_t stream);

// reset_after=True: xw = x_t @ W + b_in, hu = h_prev @ U + b_rec, gate blocks z, r, h. Writes
// gates (N, 4U): z, r, the candidate hh and hu's h block (which the backward needs) and h.
void gru_step_forward(const float* xw, const float* hu, const float* h_prev, float* gates, float* h,
                      int64_t N, int64_t U, int act, int rec, cudaStream_t stream);
// dh = dh_out + dh_direct + dh_rec. Writes dxw (N, 3U) and dhu (N, 3U), the gradients of xw and
// hu, and replaces dh_direct with dh * z (the part of dh_prev that skips the GEMM).
void gru_step_backward(const float* dh_out, float* dh_direct, const float* dh_rec,
                       const float* gates, const float* h_prev, float* dxw, float* dhu, int64_t N,
                       int64_t U, int act, int rec, cudaStream_t stream);

// reset_after=False in two stages around the candidate's recurrent product (r * h_prev) @ U_h.
// Gates stage: xw = x_t @ W + b (N, 3U), hu_zr = h_prev @ U_zr (N, 2U); writes z, r into gates
// (N, 3U) and rh_in = r * h_prev (N, U).
void gru_gates_step_forward(const float* xw, const float* hu_zr, const float* h_prev, float* gates,
                            float* rh_in, int64_t N, int64_t U, int rec, cudaStream_t stream);
// Candidate stage: hu_h = rh_in @ U_h (N, U); writes hh into gates and h.
void gru_candidate_step_forward(const float* xw, const float* hu_h, const float* h_prev,
                                float* gates, float* h, int64_t N, int64_t U, int act,
                                cudaStream_t stream);
// Backward, candidate first: dh = dh_out + dh_direct + dh_rec; writes the z block of dzr (N, 2U),
// dhh (N, U) (pre-activation gradients) and replaces dh_direct with dh * z.
void gru_candidate_step_backward(const float* dh_out, float* dh_direct, const float* dh_rec,
                                 const float* gates, const float* h_prev, float* dzr, float* dhh,
                                 int64_t N, int64_t U, int act, int rec, cudaStream_t stream);
// Then, with drh = dhh @ U_h^T (the gradient of rh_in): writes dzr's r block and adds drh * r to
// dh_direct.
void gru_gates_step_backward(const float* drh, const float* h_prev, const float* gates, float* dzr,
                             float* dh_direct, int64_t N, int64_t U, int rec, cudaStream_t stream);

// h = act(xw + hu).
void rnn_step_forward(const float* xw, const float* hu, float* h, int64_t N, int64_t U, int act,
                      cudaStream_t stream);
// dz = (dh_out + dh_rec) * act'(from h).
void rnn_step_backward(const float* dh_out, const float* dh_rec, const float* h, float* dz,
                       int64_t N, int64_t U, int act, cudaStream_t stream);

}  // namespace shendu::cuda
