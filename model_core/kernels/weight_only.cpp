// Weight-only int8 / int4 GEMV and small GEMM for CPUs with AVX-512 VNNI, registered as
// torch.ops.twincore.int8_mm and torch.ops.twincore.int4_mm.
//
// Both kernels quantize the activations dynamically (int8, one scale per block of K) and
// multiply with vpdpbusd (u8 x s8 -> s32, 64 products per instruction), so every weight byte
// is loaded once per call whatever the number of rows M (up to 16 rows share a load).
//
// Weight layouts: output rows in tiles of 16, and a vpdpbusd against 4 broadcast activation
// bytes accumulates all 16 rows at once (lane j = row 16t + j), so no horizontal sums.
//   int8: the canonical row-major [N, K] int8 codes; each 16x64-byte block is transposed in
//         registers (64 shuffles per KiB, shared by all rows of x) and its sign bit flipped to
//         make it unsigned (w + 128); 128 * sum(xq) per block is taken back in int32.
//   int4: prepacked once at load (twincore.model_core.kernels.pack_int4):
//         [N/16][K/8][16 rows][4 bytes], byte b of a lane = code(k0 + b) | code(k0 + 4 + b) << 4.
// Scales are read in their canonical layouts: int8 [N]; int4 scales_and_zeros [K/group, N, 2]
// with w = (q - 8) * scale + zero (the tinygemm convention).
//
// Numerics: y[m, n] = sum_b xs[m, b] * dot_b(xq, w) (+ zero terms) accumulated in fp32; the
// only approximation against the dequantized weight is the int8 rounding of x per block
// (int8: blocks of 32; int4: blocks of one group), and the int4 zero term uses the exact sum of x.

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VNNI__)
#error "twincore weight-only kernels need AVX-512 F, BW and VNNI"
#endif

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <immintrin.h>
#include <torch/library.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>
#include <vector>

namespace {

constexpr int64_t kTile = 16;      // output rows per tile (one zmm of fp32 lanes)
constexpr int64_t kMaxRows = 16;   // activation rows sharing one pass over a weight tile
constexpr int64_t kInt8Block = 32; // K values per activation scale for int8 weights

inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const at::BFloat16* p) {
  __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

inline void store16(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
inline void store16(at::BFloat16* p, __m512 v) {
  // Round to nearest even, as torch's float -> bfloat16 conversion does (NaN not special-cased).
  __m512i i = _mm512_castps_si512(v);
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(i, 16), _mm512_set1_epi32(1));
  i = _mm512_add_epi32(i, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), lsb));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(_mm512_srli_epi32(i, 16)));
}

inline int32_t load4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Activations quantized per block: xq [M, K] int8 and, per (row, block), the scale, the sum
// of the quantized values and the exact sum of x.
struct QuantizedRows {
  at::Tensor storage_q, storage_f, storage_i;
  const int8_t* q;
  const float* scale;  // [M, blocks]
  const float* sum_x;  // [M, blocks]
  const int32_t* sum_q;  // [M, blocks]
  int64_t k, blocks;
};

template <typename T>
QuantizedRows quantize_rows(const T* x, int64_t m_rows, int64_t k, int64_t block) {
  // x: [M, K]; block: a multiple of 16 that divides K.
  QuantizedRows r;
  r.k = k;
  r.blocks = k / block;
  r.storage_q = at::empty({m_rows, k}, at::kChar);
  r.storage_f = at::empty({2, m_rows, r.blocks}, at::kFloat);
  r.storage_i = at::empty({m_rows, r.blocks}, at::kInt);
  int8_t* q = r.storage_q.data_ptr<int8_t>();
  float* scale = r.storage_f.data_ptr<float>();
  float* sum_x = scale + m_rows * r.blocks;
  int32_t* sum_q = r.storage_i.data_ptr<int32_t>();
  const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
  for (int64_t m = 0; m < m_rows; ++m) {
    for (int64_t b = 0; b < r.blocks; ++b) {
      const T* src = x + m * k + b * block;
      __m512 vmax = _mm512_setzero_ps(), vsum = _mm512_setzero_ps();
      for (int64_t i = 0; i < block; i += 16) {
        __m512 v = load16(src + i);
        vmax = _mm512_max_ps(vmax, _mm512_and_ps(v, sign));
        vsum = _mm512_add_ps(vsum, v);
      }
      const float amax = _mm512_reduce_max_ps(vmax);
      const float inverse = amax > 0.f ? 127.f / amax : 0.f;
      const __m512 vinv = _mm512_set1_ps(inverse);
      __m512i qsum = _mm512_setzero_si512();
      int8_t* dst = q + m * k + b * block;
      for (int64_t i = 0; i < block; i += 16) {
        __m512i qi = _mm512_cvtps_epi32(_mm512_mul_ps(load16(src + i), vinv));  // nearest even
        qsum = _mm512_add_epi32(qsum, qi);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm512_cvtsepi32_epi8(qi));
      }
      scale[m * r.blocks + b] = amax / 127.f;
      sum_x[m * r.blocks + b] = _mm512_reduce_add_ps(vsum);
      sum_q[m * r.blocks + b] = _mm512_reduce_add_epi32(qsum);
    }
  }
  r.q = q;
  r.scale = scale;
  r.sum_x = sum_x;
  r.sum_q = sum_q;
  return r;
}

// sum over 32 values of K of w (8 vectors of 16 rows x 4 unsigned bytes) times x (32 signed
// bytes): two independent vpdpbusd chains, so one row of x is not bound by their latency.
inline __m512i dot8(const __m512i* w, const int8_t* x) {
  __m512i even = _mm512_setzero_si512(), odd = _mm512_setzero_si512();
  for (int c = 0; c < 8; c += 2) {
    even = _mm512_dpbusd_epi32(even, w[c], _mm512_set1_epi32(load4(x + 4 * c)));
    odd = _mm512_dpbusd_epi32(odd, w[c + 1], _mm512_set1_epi32(load4(x + 4 * c + 4)));
  }
  return _mm512_add_epi32(even, odd);
}

// 16 rows x 64 bytes of a row-major matrix -> 16 vectors, vector c holding in lane i the
// 4 bytes of row i at columns 4c..4c+3 (a 16x16 transpose of 32-bit words: 64 shuffles).
inline void transpose_16x16(const __m512i* r, __m512i* out) {
  __m512i t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int a = 0; a < 4; ++a) {  // u[4a + c]: rows 4a..4a+3 of column 4L + c in 128-bit lane L
    u[4 * a + 0] = _mm512_unpacklo_epi64(t[4 * a], t[4 * a + 2]);
    u[4 * a + 1] = _mm512_unpackhi_epi64(t[4 * a], t[4 * a + 2]);
    u[4 * a + 2] = _mm512_unpacklo_epi64(t[4 * a + 1], t[4 * a + 3]);
    u[4 * a + 3] = _mm512_unpackhi_epi64(t[4 * a + 1], t[4 * a + 3]);
  }
  for (int c = 0; c < 4; ++c) {  // a 4x4 transpose of 128-bit lanes
    __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
    __m512i v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
    __m512i v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
    __m512i v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
    out[c] = _mm512_shuffle_i32x4(v0, v2, 0x88);
    out[c + 4] = _mm512_shuffle_i32x4(v0, v2, 0xDD);
    out[c + 8] = _mm512_shuffle_i32x4(v1, v3, 0x88);
    out[c + 12] = _mm512_shuffle_i32x4(v1, v3, 0xDD);
  }
}

// One 16-row tile of int8 weights (row-major [16, K], rows `k` bytes apart) against MB
// activation rows: acc[m * 16 + n] = sum_b xs[m, b] * sum_k w[n, k] * xq[m, k] over block b.
// acc lives in memory (one load and store per row and block): the 16 transposed weight
// vectors take half the register file, and rows of x are the inner loop.
template <int MB>
inline void int8_tile(const int8_t* w, const QuantizedRows& x, int64_t m0, float* acc) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int m = 0; m < MB; ++m) _mm512_store_ps(acc + 16 * m, _mm512_setzero_ps());
  for (int64_t k0 = 0; k0 < x.k; k0 += 64) {
    __m512i rows[16], cols[16];
    for (int i = 0; i < 16; ++i) rows[i] = _mm512_loadu_si512(w + i * x.k + k0);
    transpose_16x16(rows, cols);
    for (int c = 0; c < 16; ++c) cols[c] = _mm512_xor_si512(cols[c], flip);
    for (int half = 0; half < 2; ++half) {  // one activation block of 32 each
      const int64_t b = k0 / kInt8Block + half;
      for (int m = 0; m < MB; ++m) {
        const int8_t* xb = x.q + (m0 + m) * x.k + b * kInt8Block;
        __m512i dot = dot8(cols + 8 * half, xb);
        // The sign flip added 128 * sum(xq) to every lane: take it back exactly, in int32.
        const int64_t at = (m0 + m) * x.blocks + b;
        dot = _mm512_sub_epi32(dot, _mm512_set1_epi32(128 * x.sum_q[at]));
        __m512 sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_set1_ps(x.scale[at]),
                                     _mm512_load_ps(acc + 16 * m));
        _mm512_store_ps(acc + 16 * m, sum);
      }
    }
  }
}

// One 16-row tile of int4 weights: acc[m * 16 + n] = sum_g scale[g, n] * xs * (dot - 8 sum xq)
// + zero[g, n] * sum x, i.e. x . ((q - 8) * scale + zero) with x rounded to int8 per group.
// Per 32 values of K the 8 unpacked weight vectors stay in registers while rows of x loop.
template <int MB, typename S>
inline void int4_tile(const uint8_t* w, const S* sz, int64_t n, int64_t n0, int64_t group,
                      const QuantizedRows& x, int64_t m0, float* acc) {
  const __m512i low = _mm512_set1_epi8(0x0F);
  alignas(64) int32_t dots[kMaxRows * 16];
  for (int m = 0; m < MB; ++m) _mm512_store_ps(acc + 16 * m, _mm512_setzero_ps());
  for (int64_t g = 0; g < x.blocks; ++g) {
    for (int64_t chunk = 0; chunk < group / 32; ++chunk) {
      const uint8_t* wc = w + (g * group + chunk * 32) * kTile / 2;
      __m512i codes[8];  // codes[2o]: k 8o..8o+3 of the chunk, codes[2o + 1]: k 8o+4..8o+7
      for (int o = 0; o < 4; ++o) {
        __m512i v = _mm512_loadu_si512(wc + o * 64);
        codes[2 * o] = _mm512_and_si512(v, low);
        codes[2 * o + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
      }
      for (int m = 0; m < MB; ++m) {
        const int8_t* xc = x.q + (m0 + m) * x.k + g * group + chunk * 32;
        __m512i dot = dot8(codes, xc);
        __m512i* slot = reinterpret_cast<__m512i*>(dots + 16 * m);
        *slot = chunk == 0 ? dot : _mm512_add_epi32(*slot, dot);
      }
    }
    __m512 scale, zero;
    const S* pair = sz + (g * n + n0) * 2;  // 16 (scale, zero) pairs
    if constexpr (sizeof(S) == 2) {
      __m512i v = _mm512_loadu_si512(pair);
      scale = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
      zero = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(0xFFFF0000)));
    } else {
      const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
      const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
      __m512 a = load16(pair), b = load16(pair + 16);
      scale = _mm512_permutex2var_ps(a, even, b);
      zero = _mm512_permutex2var_ps(a, odd, b);
    }
    for (int m = 0; m < MB; ++m) {
      const int64_t at = (m0 + m) * x.blocks + g;
      __m512i dot = _mm512_load_si512(dots + 16 * m);
      __m512i centred = _mm512_sub_epi32(dot, _mm512_set1_epi32(8 * x.sum_q[at]));
      __m512 scaled = _mm512_mul_ps(scale, _mm512_set1_ps(x.scale[at]));
      __m512 sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(centred), scaled, _mm512_load_ps(acc + 16 * m));
      _mm512_store_ps(acc + 16 * m, _mm512_fmadd_ps(zero, _mm512_set1_ps(x.sum_x[at]), sum));
    }
  }
}

// Calls body.template operator()<MB>() with MB = rows (1..16) as a compile-time constant.
template <typename Body, int MB = 1>
inline void dispatch_rows(int64_t rows, Body&& body) {
  if constexpr (MB < kMaxRows) {
    if (rows != MB) return dispatch_rows<Body, MB + 1>(rows, std::forward<Body>(body));
  }
  body.template operator()<MB>();
}

// Calls body(scalar) with a null pointer of x's element type (float or bfloat16).
template <typename Body>
inline void dispatch_float(at::ScalarType type, Body&& body) {
  if (type == at::kBFloat16) {
    body(static_cast<at::BFloat16*>(nullptr));
  } else {
    body(static_cast<float*>(nullptr));
  }
}

void check_input(const at::Tensor& x, const at::Tensor& w, int64_t k_bytes) {
  TORCH_CHECK(x.device().is_cpu() && w.device().is_cpu(), "twincore kernels run on CPU");
  TORCH_CHECK(x.dim() == 2 && x.is_contiguous(), "x must be a contiguous [M, K] matrix");
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16,
              "x must be float32 or bfloat16");
  TORCH_CHECK(w.is_contiguous() && w.dim() == 2, "the weight must be contiguous 2-D");
  TORCH_CHECK(w.size(0) % kTile == 0, "N must be a multiple of 16");
  TORCH_CHECK(w.size(1) == k_bytes, "the weight does not match K");
}

at::Tensor bias_as_float(const std::optional<at::Tensor>& bias, int64_t n) {
  if (!bias.has_value()) return at::Tensor();
  TORCH_CHECK(bias->numel() == n, "bias must have N values");
  return bias->to(at::kFloat).contiguous();
}

template <typename T>
void store_rows(T* y, int64_t n, int64_t n0, int64_t m0, int rows, const float* acc,
                const float* bias) {
  __m512 b = bias ? _mm512_loadu_ps(bias + n0) : _mm512_setzero_ps();
  for (int m = 0; m < rows; ++m)
    store16(y + (m0 + m) * n + n0, _mm512_add_ps(_mm512_load_ps(acc + 16 * m), b));
}

at::Tensor int8_mm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& scales,
                   const std::optional<at::Tensor>& bias) {
  // x: [M, K] f32/bf16; weight: [N, K] int8 row-major; scales: [N] f32/bf16
  const int64_t m_rows = x.size(0), k = x.size(1), n = weight.size(0);
  check_input(x, weight, k);
  TORCH_CHECK(weight.scalar_type() == at::kChar, "int8 weight must be int8");
  TORCH_CHECK(k % 64 == 0, "K must be a multiple of 64");
  TORCH_CHECK(scales.numel() == n && scales.is_contiguous(), "scales must be [N]");
  at::Tensor y = at::empty({m_rows, n}, x.options());
  if (m_rows == 0 || n == 0) return y;
  at::Tensor bias_f = bias_as_float(bias, n);
  at::Tensor scales_f = scales.to(at::kFloat);
  const float* ws = scales_f.data_ptr<float>();
  const float* bp = bias_f.defined() ? bias_f.data_ptr<float>() : nullptr;
  dispatch_float(x.scalar_type(), [&](auto* tag) {
    using scalar_t = std::remove_pointer_t<decltype(tag)>;
    QuantizedRows xq = quantize_rows(x.data_ptr<scalar_t>(), m_rows, k, kInt8Block);
    const int8_t* w = weight.data_ptr<int8_t>();
    scalar_t* out = y.data_ptr<scalar_t>();
    at::parallel_for(0, n / kTile, 1, [&](int64_t begin, int64_t end) {
      for (int64_t tile = begin; tile < end; ++tile) {
        const int64_t n0 = tile * kTile;
        const __m512 row_scale = _mm512_loadu_ps(ws + n0);
        for (int64_t m0 = 0; m0 < m_rows; m0 += kMaxRows) {
          const int64_t rows = std::min(kMaxRows, m_rows - m0);
          alignas(64) float acc[kMaxRows * 16];
          dispatch_rows(rows, [&]<int MB>() { int8_tile<MB>(w + n0 * k, xq, m0, acc); });
          for (int64_t m = 0; m < rows; ++m)
            _mm512_store_ps(acc + 16 * m, _mm512_mul_ps(_mm512_load_ps(acc + 16 * m), row_scale));
          store_rows(out, n, n0, m0, static_cast<int>(rows), acc, bp);
        }
      }
    });
  });
  return y;
}

at::Tensor int4_mm(const at::Tensor& x, const at::Tensor& packed, const at::Tensor& scales_and_zeros,
                   int64_t group, const std::optional<at::Tensor>& bias) {
  // x: [M, K] f32/bf16; packed: [N, K/2] uint8 in the tile layout; scales_and_zeros: [K/group, N, 2]
  const int64_t m_rows = x.size(0), k = x.size(1), n = packed.size(0);
  check_input(x, packed, k / 2);
  TORCH_CHECK(packed.scalar_type() == at::kByte, "packed int4 weight must be uint8");
  TORCH_CHECK(group % 32 == 0 && k % group == 0, "group must be a multiple of 32 dividing K");
  TORCH_CHECK(scales_and_zeros.is_contiguous() && scales_and_zeros.dim() == 3 &&
                  scales_and_zeros.size(0) == k / group && scales_and_zeros.size(1) == n &&
                  scales_and_zeros.size(2) == 2,
              "scales_and_zeros must be [K/group, N, 2]");
  const auto sz_type = scales_and_zeros.scalar_type();
  TORCH_CHECK(sz_type == at::kFloat || sz_type == at::kBFloat16, "scales must be f32 or bf16");
  at::Tensor y = at::empty({m_rows, n}, x.options());
  if (m_rows == 0 || n == 0) return y;
  at::Tensor bias_f = bias_as_float(bias, n);
  const float* bp = bias_f.defined() ? bias_f.data_ptr<float>() : nullptr;
  const uint8_t* w = packed.data_ptr<uint8_t>();
  dispatch_float(x.scalar_type(), [&](auto* tag) {
    using scalar_t = std::remove_pointer_t<decltype(tag)>;
    QuantizedRows xq = quantize_rows(x.data_ptr<scalar_t>(), m_rows, k, group);
    scalar_t* out = y.data_ptr<scalar_t>();
    auto run = [&](const auto* sz) {
      at::parallel_for(0, n / kTile, 1, [&](int64_t begin, int64_t end) {
        for (int64_t tile = begin; tile < end; ++tile) {
          const int64_t n0 = tile * kTile;
          for (int64_t m0 = 0; m0 < m_rows; m0 += kMaxRows) {
            const int64_t rows = std::min(kMaxRows, m_rows - m0);
            alignas(64) float acc[kMaxRows * 16];
            dispatch_rows(rows, [&]<int MB>() {
              int4_tile<MB>(w + n0 * k / 2, sz, n, n0, group, xq, m0, acc);
            });
            store_rows(out, n, n0, m0, static_cast<int>(rows), acc, bp);
          }
        }
      });
    };
    if (sz_type == at::kBFloat16) {
      run(scales_and_zeros.data_ptr<at::BFloat16>());
    } else {
      run(scales_and_zeros.data_ptr<float>());
    }
  });
  return y;
}

// Shapes only, for tracing (torch.compile's fake tensors, meta-device models).
at::Tensor int8_mm_meta(const at::Tensor& x, const at::Tensor& weight, const at::Tensor&,
                        const std::optional<at::Tensor>&) {
  return at::empty({x.size(0), weight.size(0)}, x.options());
}

at::Tensor int4_mm_meta(const at::Tensor& x, const at::Tensor& packed, const at::Tensor&, int64_t,
                        const std::optional<at::Tensor>&) {
  return at::empty({x.size(0), packed.size(0)}, x.options());
}

}  // namespace

TORCH_LIBRARY(twincore, m) {
  m.def("int8_mm(Tensor x, Tensor weight, Tensor scales, Tensor? bias) -> Tensor");
  m.def("int4_mm(Tensor x, Tensor packed, Tensor scales_and_zeros, int group_size, Tensor? bias) -> Tensor");
}

TORCH_LIBRARY_IMPL(twincore, CPU, m) {
  m.impl("int8_mm", &int8_mm);
  m.impl("int4_mm", &int4_mm);
}

TORCH_LIBRARY_IMPL(twincore, Meta, m) {
  m.impl("int8_mm", &int8_mm_meta);
  m.impl("int4_mm", &int4_mm_meta);
}
