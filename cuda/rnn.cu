#include "launch.h"
#include "rnn.h"

namespace shendu::cuda {

namespace {

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// One thread per (n, u); gate block g of row n lives at [n * G * U + g * U + u].
struct Cell {
  int64_t n, u, U;
  __device__ __forceinline__ int64_t gate(int g, int G) const { return (n * G + g) * U + u; }
  __device__ __forceinline__ int64_t unit() const { return n * U + u; }
};
__device__ __forceinline__ Cell cell(int64_t i, int64_t U) { return {i / U, i % U, U}; }

__global__ void lstm_forward_kernel(const float* xw, const float* hu, const float* c_prev,
                                    float* gates, float* c, float* h, int64_t total, int64_t U) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    float a[4];
#pragma unroll
    for (int g = 0; g < 4; ++g) a[g] = xw[e.gate(g, 4)] + hu[e.gate(g, 4)];
    const float i = sigmoid(a[0]), f = sigmoid(a[1]), cc = tanhf(a[2]), o = sigmoid(a[3]);
    const float ct = f * c_prev[e.unit()] + i * cc;
    gates[e.gate(0, 4)] = i;
    gates[e.gate(1, 4)] = f;
    gates[e.gate(2, 4)] = cc;
    gates[e.gate(3, 4)] = o;
    c[e.unit()] = ct;
    h[e.unit()] = o * tanhf(ct);
  }
}

__global__ void lstm_backward_kernel(const float* dh_out, const float* dh_rec, const float* gates,
                                     const float* c, const float* c_prev, float* dc, float* dz,
                                     int64_t total, int64_t U) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    const float i = gates[e.gate(0, 4)], f = gates[e.gate(1, 4)];
    const float cc = gates[e.gate(2, 4)], o = gates[e.gate(3, 4)];
    const float dh = dh_out[e.unit()] + dh_rec[e.unit()];
    const float tc = tanhf(c[e.unit()]);
    const float dct = dc[e.unit()] + dh * o * (1.0f - tc * tc);
    dz[e.gate(0, 4)] = dct * cc * i * (1.0f - i);
    dz[e.gate(1, 4)] = dct * c_prev[e.unit()] * f * (1.0f - f);
    dz[e.gate(2, 4)] = dct * i * (1.0f - cc * cc);
    dz[e.gate(3, 4)] = dh * tc * o * (1.0f - o);
    dc[e.unit()] = dct * f;
  }
}

__global__ void gru_forward_kernel(const float* xw, const float* hu, const float* h_prev,
                                   float* gates, float* h, int64_t total, int64_t U) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    const float z = sigmoid(xw[e.gate(0, 3)] + hu[e.gate(0, 3)]);
    const float r = sigmoid(xw[e.gate(1, 3)] + hu[e.gate(1, 3)]);
    const float hu_h = hu[e.gate(2, 3)];
    const float hh = tanhf(xw[e.gate(2, 3)] + r * hu_h);
    gates[e.gate(0, 4)] = z;
    gates[e.gate(1, 4)] = r;
    gates[e.gate(2, 4)] = hh;
    gates[e.gate(3, 4)] = hu_h;
    h[e.unit()] = z * h_prev[e.unit()] + (1.0f - z) * hh;
  }
}

__global__ void gru_backward_kernel(const float* dh_out, float* dh_direct, const float* dh_rec,
                                    const float* gates, const float* h_prev, float* dxw,
                                    float* dhu, int64_t total, int64_t U) {
  SHENDU_GRID_STRIDE(idx, total) {
    const Cell e = cell(idx, U);
    const float z = gates[e.gate(0, 4)], r = gates[e.gate(1, 4)];
    const float hh = gates[e.gate(2, 4)], hu_h = gates[e.gate(3, 4)];
    const float dh = dh_out[e.unit()] + dh_direct[e.unit()] + dh_rec[e.unit()];
    const float dhh = dh * (1.0f - z) * (1.0f - hh * hh);  // through tanh
    const float dzp = dh * (h_prev[e.unit()] - hh) * z * (1.0f - z);
    const float drp = dhh * hu_h * r * (1.0f - r);
    dxw[e.gate(0, 3)] = dzp;
    dxw[e.gate(1, 3)] = drp;
    dxw[e.gate(2, 3)] = dhh;
    dhu[e.gate(0, 3)] = dzp;
    dhu[e.gate(1, 3)] = drp;
    dhu[e.gate(2, 3)] = dhh * r;
    dh_direct[e.unit()] = dh * z;
  }
}

__global__ void rnn_forward_kernel(const float* xw, const float* hu, float* h, int64_t total) {
  SHENDU_GRID_STRIDE(i, total) h[i] = tanhf(xw[i] + hu[i]);
}

__global__ void rnn_backward_kernel(const float* dh_out, const float* dh_rec, const float* h,
                                    float* dz, int64_t total) {
  SHENDU_GRID_STRIDE(i, total) dz[i] = (dh_out[i] + dh_rec[i]) * (1.0f - h[i] * h[i]);
}

}  // namespace

void lstm_step_forward(const float* xw, const float* hu, const float* c_prev, float* gates,
                       float* c, float* h, int64_t N, int64_t U, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  lstm_forward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(xw, hu, c_prev, gates, c, h,
                                                                total, U);
  check_launch("lstm_step_forward");
}

void lstm_step_backward(const float* dh_out, const float* dh_rec, const float* gates,
                        const float* c, const float* c_prev, float* dc, float* dz, int64_t N,
                        int64_t U, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  lstm_backward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(dh_out, dh_rec, gates, c, c_prev,
                                                                 dc, dz, total, U);
  check_launch("lstm_step_backward");
}

void gru_step_forward(const float* xw, const float* hu, const float* h_prev, float* gates, float* h,
                      int64_t N, int64_t U, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  gru_forward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(xw, hu, h_prev, gates, h, total, U);
  check_launch("gru_step_forward");
}

void gru_step_backward(const float* dh_out, float* dh_direct, const float* dh_rec,
                       const float* gates, const float* h_prev, float* dxw, float* dhu, int64_t N,
                       int64_t U, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  gru_backward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(dh_out, dh_direct, dh_rec, gates,
                                                                h_prev, dxw, dhu, total, U);
  check_launch("gru_step_backward");
}

void rnn_step_forward(const float* xw, const float* hu, float* h, int64_t N, int64_t U,
                      cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  rnn_forward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(xw, hu, h, total);
  check_launch("rnn_step_forward");
}

void rnn_step_backward(const float* dh_out, const float* dh_rec, const float* h, float* dz,
                       int64_t N, int64_t U, cudaStream_t stream) {
  const int64_t total = N * U;
  if (total == 0) return;
  rnn_backward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(dh_out, dh_rec, h, dz, total);
  check_launch("rnn_step_backward");
}

}  // namespace shendu::cuda
