#include "launch.h"
#include "rnn.h"

namespace shendu::cuda {

namespace {

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// The activation is the same for every thread of a launch, so the switch does not diverge.
__device__ __forceinline__ float activate(int kind, float x) {
  switch (kind) {
    case kTanh: return tanhf(x);
    case kSigmoid: return sigmoid(x);
    case kRelu: return x < 0.0f ? 0.0f : x;  // NaN < 0 is false: NaN stays
    case kHardSigmoid: {
      const float r = x + 3.0f < 0.0f ? 0.0f : x + 3.0f;
      return (r > 6.0f ? 6.0f : r) / 6.0f;
    }
    default: return x;
  }
}

// f'(x) from y = f(x); hard_sigmoid's slope is 1/6 on the open interval, as TF's Relu6Grad.
__device__ __forceinline__ float slope(int kind, float y) {
  switch (kind) {
    case kTanh: return 1.0f - y * y;
    case kSigmoid: return y * (1.0f - y);
    case kRelu: return y > 0.0f ? 1.0f : 0.0f;
    case kHardSigmoid: return y > 0.0f && y < 1.0f ? 1.0f / 6.0f : 0.0f;
    default: return 1.0f;
  }
}

// One thread per (n, u); gate block g of row n lives at [n * G * U + g * U + u].
struct Cell {
  int64_t n, u, U;
  __device__ __forceinline__ int64_t gate(int g, int G) const { return (n * G + g) * U + u; }
  __device__ __forceinline__ int64_t unit() const { return n * U + u; }
};
__device__ __forceinline__ Cell cell(int64_t i, int64_t U) { return {i / U, i % U, U}; }

__global__ void lstm_forward_kernel(const float* xw, const float* hu, const float* c_prev,
                                    float* gates, float* c, float* h, int64_t total, int64_t U,
                                    int act, int rec) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    float a[4];
#pragma unroll
    for (int g = 0; g < 4; ++g) a[g] = xw[e.gate(g, 4)] + hu[e.gate(g, 4)];
    const float i = activate(rec, a[0]), f = activate(rec, a[1]);
    const float cc = activate(act, a[2]), o = activate(rec, a[3]);
    const float ct = f * c_prev[e.unit()] + i * cc;
    gates[e.gate(0, 4)] = i;
    gates[e.gate(1, 4)] = f;
    gates[e.gate(2, 4)] = cc;
    gates[e.gate(3, 4)] = o;
    c[e.unit()] = ct;
    h[e.unit()] = o * activate(act, ct);
  }
}

__global__ void lstm_backward_kernel(const float* dh_out, const float* dh_rec, const float* gates,
                                     const float* c, const float* c_prev, float* dc, float* dz,
                                     int64_t total, int64_t U, int act, int rec) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    const float i = gates[e.gate(0, 4)], f = gates[e.gate(1, 4)];
    const float cc = gates[e.gate(2, 4)], o = gates[e.gate(3, 4)];
    const float dh = dh_out[e.unit()] + dh_rec[e.unit()];
    const float tc = activate(act, c[e.unit()]);
    const float dct = dc[e.unit()] + dh * o * slope(act, tc);
    dz[e.gate(0, 4)] = dct * cc * slope(rec, i);
    dz[e.gate(1, 4)] = dct * c_prev[e.unit()] * slope(rec, f);
    dz[e.gate(2, 4)] = dct * i * slope(act, cc);
    dz[e.gate(3, 4)] = dh * tc * slope(rec, o);
    dc[e.unit()] = dct * f;
  }
}

__global__ void gru_forward_kernel(const float* xw, const float* hu, const float* h_prev,
                                   float* gates, float* h, int64_t total, int64_t U, int act,
                                   int rec) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    const float z = activate(rec, xw[e.gate(0, 3)] + hu[e.gate(0, 3)]);
    const float r = activate(rec, xw[e.gate(1, 3)] + hu[e.gate(1, 3)]);
    const float hu_h = hu[e.gate(2, 3)];
    const float hh = activate(act, xw[e.gate(2, 3)] + r * hu_h);
    gates[e.gate(0, 4)] = z;
    gates[e.gate(1, 4)] = r;
    gates[e.gate(2, 4)] = hh;
    gates[e.gate(3, 4)] = hu_h;
    h[e.unit()] = z * h_prev[e.unit()] + (1.0f - z) * hh;
  }
}

__global__ void gru_backward_kernel(const float* dh_out, float* dh_direct, const float* dh_rec,
                                    const float* gates, const float* h_prev, float* dxw,
                                    float* dhu, int64_t total, int64_t U, int act, int rec) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    const float z = gates[e.gate(0, 4)], r = gates[e.gate(1, 4)];
    const float hh = gates[e.gate(2, 4)], hu_h = gates[e.gate(3, 4)];
    const float dh = dh_out[e.unit()] + dh_direct[e.unit()] + dh_rec[e.unit()];
    const float dhh = dh * (1.0f - z) * slope(act, hh);
    const float dzp = dh * (h_prev[e.unit()] - hh) * slope(rec, z);
    const float drp = dhh * hu_h * slope(rec, r);
    dxw[e.gate(0, 3)] = dzp;
    dxw[e.gate(1, 3)] = drp;
    dxw[e.gate(2, 3)] = dhh;
    dhu[e.gate(0, 3)] = dzp;
    dhu[e.gate(1, 3)] = drp;
    dhu[e.gate(2, 3)] = dhh * r;
    dh_direct[e.unit()] = dh * z;
  }
}

__global__ void gru_gates_forward_kernel(const float* xw, const float* hu_zr, const float* h_prev,
                                         float* gates, float* rh_in, int64_t total, int64_t U,
                                         int rec) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    const float z = activate(rec, xw[e.gate(0, 3)] + hu_zr[e.gate(0, 2)]);
    const float r = activate(rec, xw[e.gate(1, 3)] + hu_zr[e.gate(1, 2)]);
    gates[e.gate(0, 3)] = z;
    gates[e.gate(1, 3)] = r;
    rh_in[e.unit()] = r * h_prev[e.unit()];
  }
}

__global__ void gru_candidate_forward_kernel(const float* xw, const float* hu_h,
                                             const float* h_prev, float* gates, float* h,
                                             int64_t total, int64_t U, int act) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    const float z = gates[e.gate(0, 3)];
    const float hh = activate(act, xw[e.gate(2, 3)] + hu_h[e.unit()]);
    gates[e.gate(2, 3)] = hh;
    h[e.unit()] = z * h_prev[e.unit()] + (1.0f - z) * hh;
  }
}

__global__ void gru_candidate_backward_kernel(const float* dh_out, float* dh_direct,
                                              const float* dh_rec, const float* gates,
                                              const float* h_prev, float* dzr, float* dhh,
                                              int64_t total, int64_t U, int act, int rec) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    const float z = gates[e.gate(0, 3)], hh = gates[e.gate(2, 3)];
    const float dh = dh_out[e.unit()] + dh_direct[e.unit()] + dh_rec[e.unit()];
    dzr[e.gate(0, 2)] = dh * (h_prev[e.unit()] - hh) * slope(rec, z);
    dhh[e.unit()] = dh * (1.0f - z) * slope(act, hh);
    dh_direct[e.unit()] = dh * z;
  }
}

__global__ void gru_gates_backward_kernel(const float* drh, const float* h_prev,
                                          const float* gates, float* dzr, float* dh_direct,
                                          int64_t total, int64_t U, int rec) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    const float r = gates[e.gate(1, 3)];
    dzr[e.gate(1, 2)] = drh[e.unit()] * h_prev[e.unit()] * slope(rec, r);
    dh_direct[e.unit()] += drh[e.unit()] * r;
  }
}

__global__ void rnn_forward_kernel(const float* xw, const float* hu, float* h, int64_t total,
                                   int act) {
  SHENDU_GRID_STRIDE(i, total) h[i] = activate(act, xw[i] + hu[i]);
}

__global__ void rnn_backward_kernel(const float* dh_out, const float* dh_rec, const float* h,
                                    float* dz, int64_t total, int act) {
  SHENDU_GRID_STRIDE(i, total) dz[i] = (dh_out[i] + dh_rec[i]) * slope(act, h[i]);
}

}  // namespace

void lstm_step_forward(const float* xw, const float* hu, const float* c_prev, float* gates,
                       float* c, float* h, int64_t N, int64_t U, int act, int rec,
                       cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  lstm_forward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(xw, hu, c_prev, gates, c, h,
                                                                total, U, act, rec);
  check_launch("lstm_step_forward");
}

void lstm_step_backward(const float* dh_out, const float* dh_rec, const float* gates,
                        const float* c, const float* c_prev, float* dc, float* dz, int64_t N,
                        int64_t U, int act, int rec, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  lstm_backward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(dh_out, dh_rec, gates, c, c_prev,
                                                                 dc, dz, total, U, act, rec);
  check_launch("lstm_step_backward");
}

void gru_step_forward(const float* xw, const float* hu, const float* h_prev, float* gates, float* h,
                      int64_t N, int64_t U, int act, int rec, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  gru_forward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(xw, hu, h_prev, gates, h, total, U,
                                                               act, rec);
  check_launch("gru_step_forward");
}

void gru_step_backward(const float* dh_out, float* dh_direct, const float* dh_rec,
                       const float* gates, const float* h_prev, float* dxw, float* dhu, int64_t N,
                       int64_t U, int act, int rec, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  gru_backward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(dh_out, dh_direct, dh_rec, gates,
                                                                h_prev, dxw, dhu, total, U, act,
                                                                rec);
  check_launch("gru_step_backward");
}

void gru_gates_step_forward(const float* xw, const float* hu_zr, const float* h_prev, float* gates,
                            float* rh_in, int64_t N, int64_t U, int rec, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  gru_gates_forward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(xw, hu_zr, h_prev, gates,
                                                                     rh_in, total, U, rec);
  check_launch("gru_gates_step_forward");
}

void gru_candidate_step_forward(const float* xw, const float* hu_h, const float* h_prev,
                                float* gates, float* h, int64_t N, int64_t U, int act,
                                cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  gru_candidate_forward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(xw, hu_h, h_prev, gates,
                                                                         h, total, U, act);
  check_launch("gru_candidate_step_forward");
}

void gru_candidate_step_backward(const float* dh_out, float* dh_direct, const float* dh_rec,
                                 const float* gates, const float* h_prev, float* dzr, float* dhh,
                                 int64_t N, int64_t U, int act, int rec, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  gru_candidate_backward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(
      dh_out, dh_direct, dh_rec, gates, h_prev, dzr, dhh, total, U, act, rec);
  check_launch("gru_candidate_step_backward");
}

void gru_gates_step_backward(const float* drh, const float* h_prev, const float* gates, float* dzr,
                             float* dh_direct, int64_t N, int64_t U, int rec, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  gru_gates_backward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(drh, h_prev, gates, dzr,
                                                                      dh_direct, total, U, rec);
  check_launch("gru_gates_step_backward");
}

void rnn_step_forward(const float* xw, const float* hu, float* h, int64_t N, int64_t U, int act,
                      cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  rnn_forward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(xw, hu, h, total, act);
  check_launch("rnn_step_forward");
}

void rnn_step_backward(const float* dh_out, const float* dh_rec, const float* h, float* dz,
                       int64_t N, int64_t U, int act, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  rnn_backward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(dh_out, dh_rec, h, dz, total, act);
  check_launch("rnn_step_backward");
}

}  // namespace shendu::cuda
