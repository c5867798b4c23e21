/* kernels.cu — the CUDA backend's row and attention kernels.
 *
 * Each kernel follows the CPU reference (engine/cpu/ops.c) in its numeric
 * choices where that is cheap, so the two backends agree to float rounding:
 * RMSNorm sums squares in double; RoPE advances theta by repeated float
 * multiplication with the host-computed base^(-2/n_rot); the KV cache is f16
 * (round to nearest even); attention rounds the query to f16 before K·q. Two
 * differences are inherent and covered by the stated tolerances
 * (tests/eng_cuda.c): attention uses an online softmax (flash-attention
 * style: one pass over the keys, rescaling a running max), so the weights
 * are not rounded to f16 before the V product as the CPU's two-pass version
 * does; and sums run in a different order.
 *
 * Attention comes in two kernels over the same f16 cache (rows of n_embd_kv
 * per position, head h reads kv head h / (n_head / n_head_kv)):
 *   decode  — one block per (head, query), its 4 warps take every 4th key,
 *             each lane holds head_dim/32 dims; partial softmax states are
 *             merged through shared memory at the end;
 *   prefill — one block per (head, 16 queries): K and V tiles of 32 keys are
 *             staged in shared memory (K rows padded by one float so lane j
 *             reading key j is conflict-free), each warp runs the online
 *             softmax for 4 queries, causal mask per query.
 * Tokens of several sequences in one micro-batch (multi-sequence contexts)
 * take the decode kernel, each (head, token) block over the rows of its own
 * slot (base[t] .. base[t] + pos[t]); RoPE and the KV store read the same
 * per-token positions from device arrays.
 * Both keep the whole working set on chip; neither writes scores to memory.
 */
#include "engine/cuda/cuda_int.h"

#include <math.h>

#define FULL_MASK 0xffffffffu

static __device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(FULL_MASK, v, o);
	return v;
}

static __device__ __forceinline__ double warp_sum_d(double v)
{
#pragma unroll
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(FULL_MASK, v, o);
	return v;
}

static __device__ __forceinline__ float warp_max(float v)
{
#pragma unroll
	for (int o = 16; o > 0; o >>= 1)
		v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
	return v;
}

static __device__ __forceinline__ float round_f16(float x)
{
	return __half2float(__float2half_rn(x));
}

static unsigned grid_for(size_t n, unsigned block)
{
	size_t g = (n + block - 1) / block;
	return (unsigned)(g > 65535u * 16u ? 65535u * 16u : (g ? g : 1));
}

/* ---- embedding lookup ---- */

/* Element j of row r of a device weight (layouts in cuda_api.h). */
static __device__ __forceinline__ float w_elem(const void *w, int type, int64_t ne0, int64_t ne1, int64_t r,
					       int64_t j)
{
	switch (type) {
	case CU_T_F32:
		return ((const float *)w)[r * ne0 + j];
	case CU_T_F16:
		return __half2float(((const __half *)w)[r * ne0 + j]);
	case CU_T_BF16:
		return __uint_as_float((uint32_t)((const uint16_t *)w)[r * ne0 + j] << 16);
	case CU_T_Q8_0: {
		const int64_t nb = ne0 / CU_QK;
		const __half *d = (const __half *)((const char *)w + (size_t)(ne1 * nb * CU_QK));
		return (float)((const int8_t *)w)[r * ne0 + j] * __half2float(d[r * nb + j / CU_QK]);
	}
	case CU_T_Q4_0: {
		const int64_t nb = ne0 / CU_QK;
		const __half *d = (const __half *)((const char *)w + (size_t)(ne1 * nb * 16));
		const int64_t b = j / CU_QK, i = j % CU_QK;
		const uint8_t byte = ((const uint8_t *)w)[(r * nb + b) * 16 + (i & 15)];
		const int q = i < 16 ? (byte & 0x0f) : (byte >> 4);
		return (float)(q - 8) * __half2float(d[r * nb + b]);
	}
	}
	return 0.0f;
}

static __global__ void k_get_rows(const void *w, int type, int64_t ne0, int64_t ne1, const int32_t *ids, float *out)
{
	const int64_t r = ids[blockIdx.x];
	float *o = out + (size_t)blockIdx.x * ne0;
	for (int64_t j = threadIdx.x; j < ne0; j += blockDim.x)
		o[j] = w_elem(w, type, ne0, ne1, r, j);
}

void cu_get_rows(cu_exec *st, const eng_tensor *w, const int32_t *dev_ids, int n, float *out)
{
	if (n <= 0)
		return;
	k_get_rows<<<n, 256, 0, st->stream>>>(w->data, (int)w->type, (int64_t)w->ne0, (int64_t)w->ne1, dev_ids, out);
	CU_LAUNCHED(&st->err);
}

/* ---- RMSNorm: one block per row ---- */

static __global__ void k_rmsnorm(const float *x, const float *weight, int dim, float eps, float *out)
{
	__shared__ double part[32];
	const float *xr = x + (size_t)blockIdx.x * dim;
	float *o = out + (size_t)blockIdx.x * dim;
	double s = 0.0;
	for (int i = threadIdx.x; i < dim; i += blockDim.x)
		s += (double)(xr[i] * xr[i]);
	s = warp_sum_d(s);
	const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, nw = blockDim.x / 32;
	if (lane == 0)
		part[warp] = s;
	__syncthreads();
	if (warp == 0) {
		s = lane < nw ? part[lane] : 0.0;
		s = warp_sum_d(s);
		if (lane == 0)
			part[0] = s;
	}
	__syncthreads();
	const float mean = (float)(part[0] / dim);
	const float scale = 1.0f / sqrtf(mean + eps);
	for (int i = threadIdx.x; i < dim; i += blockDim.x)
		o[i] = (xr[i] * scale) * weight[i];
}

void cu_rmsnorm(cu_exec *st, const float *x, const float *weight, int n_tok, int dim, float eps, float *out)
{
	if (n_tok <= 0)
		return;
	k_rmsnorm<<<n_tok, 256, 0, st->stream>>>(x, weight, dim, eps, out);
	CU_LAUNCHED(&st->err);
}

/* ---- RoPE: one block per token, one thread per rotated pair ---- */

static __global__ void k_rope(float *x, int n_head, int head_dim, int n_rot, uint32_t pos0, const uint32_t *pos,
			      float theta_scale, int neox)
{
	const int t = blockIdx.x;
	for (int i = threadIdx.x; i < n_rot / 2; i += blockDim.x) {
		/* the CPU advances theta by repeated multiplication: same sequence of roundings */
		float theta = (float)(pos ? pos[t] : pos0 + (uint32_t)t);
		for (int k = 0; k < i; k++)
			theta *= theta_scale;
		const float c = cosf(theta), s = sinf(theta);
		const int a = neox ? i : 2 * i, b = neox ? i + n_rot / 2 : 2 * i + 1;
		for (int h = 0; h < n_head; h++) {
			float *v = x + ((size_t)t * n_head + h) * head_dim;
			const float x0 = v[a], x1 = v[b];
			v[a] = x0 * c - x1 * s;
			v[b] = x0 * s + x1 * c;
		}
	}
}

void cu_rope(cu_exec *st, float *x, int n_tok, int n_head, int head_dim, int n_rot, uint32_t pos0,
	     const uint32_t *dev_pos, float theta_scale, int neox)
{
	if (n_tok <= 0 || n_rot < 2)
		return;
	int threads = n_rot / 2 < 256 ? ((n_rot / 2 + 31) / 32) * 32 : 256;
	k_rope<<<n_tok, threads, 0, st->stream>>>(x, n_head, head_dim, n_rot, pos0, dev_pos, theta_scale, neox);
	CU_LAUNCHED(&st->err);
}

/* ---- KV store (f32 -> f16, round to nearest even) ---- */

static __global__ void k_kv_store(__half *kc, __half *vc, size_t n, const float *k, const float *v)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		kc[i] = __float2half_rn(k[i]);
		vc[i] = __float2half_rn(v[i]);
	}
}

void cu_kv_store(cu_exec *st, __half *k_cache, __half *v_cache, size_t off, size_t n, const float *k, const float *v)
{
	if (!n)
		return;
	k_kv_store<<<grid_for(n, 256), 256, 0, st->stream>>>(k_cache + off, v_cache + off, n, k, v);
	CU_LAUNCHED(&st->err);
}

/* Token t's row of k and v at cache row base[t] + pos[t]: a block per token. */
static __global__ void k_kv_store_pos(__half *kc, __half *vc, int kv_dim, const uint32_t *pos, const uint32_t *base,
				      const float *k, const float *v)
{
	const int t = blockIdx.x;
	const size_t row = ((size_t)base[t] + pos[t]) * kv_dim, in = (size_t)t * kv_dim;
	for (int i = threadIdx.x; i < kv_dim; i += blockDim.x) {
		kc[row + i] = __float2half_rn(k[in + i]);
		vc[row + i] = __float2half_rn(v[in + i]);
	}
}

void cu_kv_store_pos(cu_exec *st, __half *k_cache, __half *v_cache, int kv_dim, int n_tok, const uint32_t *dev_pos,
		     const uint32_t *dev_base, const float *k, const float *v)
{
	if (n_tok <= 0)
		return;
	k_kv_store_pos<<<n_tok, 256, 0, st->stream>>>(k_cache, v_cache, kv_dim, dev_pos, dev_base, k, v);
	CU_LAUNCHED(&st->err);
}

/* ---- attention ---- */

#define DEC_WARPS 4

/* J = dims per lane (head_dim <= 32 * J). */
template <int J>
static __global__ void k_attn_decode(const __half *K, const __half *V, const float *q, float *out, int n_head,
				     int group, int hd, int kv_dim, uint32_t pos0, const uint32_t *pos,
				     const uint32_t *base, float scale)
{
	__shared__ float sm_m[DEC_WARPS], sm_l[DEC_WARPS];
	__shared__ float sm_acc[DEC_WARPS][32 * J];
	const int h = blockIdx.x, t = blockIdx.y;
	const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
	const int kvh = h / group;
	/* one sequence: positions pos0 + t of rows 0..; several: token t's own slot rows */
	const int n_kv = pos ? (int)pos[t] + 1 : (int)pos0 + t + 1;
	if (pos) {
		K += (size_t)base[t] * kv_dim;
		V += (size_t)base[t] * kv_dim;
	}
	const float *qr = q + ((size_t)t * n_head + h) * hd;
	float qv[J], acc[J];
#pragma unroll
	for (int j = 0; j < J; j++) {
		const int d = lane + 32 * j;
		qv[j] = d < hd ? round_f16(qr[d]) : 0.0f;
		acc[j] = 0.0f;
	}
	float m = -INFINITY, l = 0.0f;
	for (int p = warp; p < n_kv; p += DEC_WARPS) {
		const __half *kr = K + (size_t)p * kv_dim + (size_t)kvh * hd;
		const __half *vr = V + (size_t)p * kv_dim + (size_t)kvh * hd;
		float s = 0.0f;
#pragma unroll
		for (int j = 0; j < J; j++) {
			const int d = lane + 32 * j;
			if (d < hd)
				s += qv[j] * __half2float(kr[d]);
		}
		s = warp_sum(s) * scale;
		const float mn = fmaxf(m, s);
		const float corr = expf(m - mn), e = expf(s - mn);
		l = l * corr + e;
#pragma unroll
		for (int j = 0; j < J; j++) {
			const int d = lane + 32 * j;
			acc[j] = acc[j] * corr + (d < hd ? e * __half2float(vr[d]) : 0.0f);
		}
		m = mn;
	}
	if (lane == 0) {
		sm_m[warp] = m;
		sm_l[warp] = l;
	}
#pragma unroll
	for (int j = 0; j < J; j++)
		sm_acc[warp][lane + 32 * j] = acc[j];
	__syncthreads();
	if (warp == 0) {
		float M = -INFINITY;
		for (int w = 0; w < DEC_WARPS; w++)
			M = fmaxf(M, sm_m[w]);
		float L = 0.0f, o[J];
#pragma unroll
		for (int j = 0; j < J; j++)
			o[j] = 0.0f;
		for (int w = 0; w < DEC_WARPS; w++) {
			/* a warp that saw no key has m = -inf: weight 0 (warp 0 always has key 0) */
			const float f = sm_m[w] == -INFINITY ? 0.0f : expf(sm_m[w] - M);
			L += sm_l[w] * f;
#pragma unroll
			for (int j = 0; j < J; j++)
				o[j] += sm_acc[w][lane + 32 * j] * f;
		}
		float *orow = out + ((size_t)t * n_head + h) * hd;
#pragma unroll
		for (int j = 0; j < J; j++) {
			const int d = lane + 32 * j;
			if (d < hd)
				orow[d] = o[j] / L;
		}
	}
}

#define PF_Q 16   /* queries per block */
#define PF_QW 4   /* queries per warp */
#define PF_K 32   /* keys per tile */

static size_t prefill_smem(int hd)
{
	return sizeof(float) * ((size_t)PF_Q * hd + (size_t)PF_K * (hd + 1) + (size_t)PF_K * hd);
}

template <int J>
static __global__ void k_attn_prefill(const __half *K, const __half *V, const float *q, float *out, int n_tok,
				      int n_head, int group, int hd, int kv_dim, uint32_t pos0, float scale)
{
	extern __shared__ float sm[];
	float *Qs = sm;                      /* PF_Q x hd, f16-rounded */
	float *Ks = Qs + PF_Q * hd;          /* PF_K x (hd + 1) */
	float *Vs = Ks + PF_K * (hd + 1);    /* PF_K x hd */
	const int h = blockIdx.x, t0 = blockIdx.y * PF_Q;
	const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
	const int kvh = h / group;
	for (int i = threadIdx.x; i < PF_Q * hd; i += blockDim.x) {
		const int qi = i / hd, d = i % hd, t = t0 + qi;
		Qs[i] = t < n_tok ? round_f16(q[((size_t)t * n_head + h) * hd + d]) : 0.0f;
	}
	const int last_t = min(t0 + PF_Q - 1, n_tok - 1);
	const int n_keys = (int)pos0 + last_t + 1;
	float m[PF_QW], l[PF_QW], acc[PF_QW][J];
#pragma unroll
	for (int qq = 0; qq < PF_QW; qq++) {
		m[qq] = -INFINITY;
		l[qq] = 0.0f;
#pragma unroll
		for (int j = 0; j < J; j++)
			acc[qq][j] = 0.0f;
	}
	for (int kt = 0; kt < n_keys; kt += PF_K) {
		__syncthreads();
		for (int i = threadIdx.x; i < PF_K * hd; i += blockDim.x) {
			const int j = i / hd, d = i % hd, p = kt + j;
			float kf = 0.0f, vf = 0.0f;
			if (p < n_keys) {
				kf = __half2float(K[(size_t)p * kv_dim + (size_t)kvh * hd + d]);
				vf = __half2float(V[(size_t)p * kv_dim + (size_t)kvh * hd + d]);
			}
			Ks[j * (hd + 1) + d] = kf;
			Vs[j * hd + d] = vf;
		}
		__syncthreads();
#pragma unroll
		for (int qq = 0; qq < PF_QW; qq++) {
			const int qi = warp * PF_QW + qq, t = t0 + qi;
			if (t >= n_tok)
				continue; /* uniform across the warp */
			const int p = kt + lane;
			const bool valid = p <= (int)pos0 + t;
			float s = -INFINITY;
			if (valid) {
				float a = 0.0f;
				const float *qrow = Qs + qi * hd, *krow = Ks + lane * (hd + 1);
				for (int d = 0; d < hd; d++)
					a += qrow[d] * krow[d];
				s = a * scale;
			}
			/* key kt + 0 <= pos0 + t for every tile a query reaches after tile 0,
			 * and tile 0 holds key 0: mn is finite */
			const float mn = fmaxf(m[qq], warp_max(s));
			const float e = valid ? expf(s - mn) : 0.0f;
			const float corr = expf(m[qq] - mn);
			l[qq] = l[qq] * corr + warp_sum(e);
#pragma unroll
			for (int j = 0; j < J; j++)
				acc[qq][j] *= corr;
			for (int kj = 0; kj < PF_K; kj++) {
				const float pj = __shfl_sync(FULL_MASK, e, kj);
#pragma unroll
				for (int j = 0; j < J; j++) {
					const int d = lane + 32 * j;
					if (d < hd)
						acc[qq][j] += pj * Vs[kj * hd + d];
				}
			}
			m[qq] = mn;
		}
	}
#pragma unroll
	for (int qq = 0; qq < PF_QW; qq++) {
		const int t = t0 + warp * PF_QW + qq;
		if (t >= n_tok)
			continue;
		float *orow = out + ((size_t)t * n_head + h) * hd;
#pragma unroll
		for (int j = 0; j < J; j++) {
			const int d = lane + 32 * j;
			if (d < hd)
				orow[d] = acc[qq][j] / l[qq];
		}
	}
}

bool cu_attention_setup(cu_exec *st, int hd)
{
	const int bytes = (int)prefill_smem(hd);
	return CU_CHECK(&st->err, cudaFuncSetAttribute(k_attn_prefill<1>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes)) &&
	       CU_CHECK(&st->err, cudaFuncSetAttribute(k_attn_prefill<2>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes)) &&
	       CU_CHECK(&st->err, cudaFuncSetAttribute(k_attn_prefill<4>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes)) &&
	       CU_CHECK(&st->err, cudaFuncSetAttribute(k_attn_prefill<8>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
}

template <int J>
static void launch_attention(cu_exec *st, const __half *K, const __half *V, const float *q, int n_tok, uint32_t pos0,
			     const uint32_t *pos, const uint32_t *base, int n_head, int group, int hd, int kv_dim,
			     float *out, float scale)
{
	/* tokens of several sequences: a block per (head, token), each over its own slot's keys */
	if (n_tok <= 4 || pos) {
		dim3 grid((unsigned)n_head, (unsigned)n_tok);
		k_attn_decode<J><<<grid, 32 * DEC_WARPS, 0, st->stream>>>(K, V, q, out, n_head, group, hd, kv_dim, pos0,
									  pos, base, scale);
	} else {
		dim3 grid((unsigned)n_head, (unsigned)((n_tok + PF_Q - 1) / PF_Q));
		k_attn_prefill<J><<<grid, 32 * (PF_Q / PF_QW), prefill_smem(hd), st->stream>>>(
			K, V, q, out, n_tok, n_head, group, hd, kv_dim, pos0, scale);
	}
	CU_LAUNCHED(&st->err);
}

void cu_attention(cu_exec *st, const __half *k_cache, const __half *v_cache, const float *q, int n_tok, uint32_t pos0,
		  const uint32_t *dev_pos, const uint32_t *dev_base, int n_head, int n_head_kv, int head_dim, int kv_dim,
		  float *out)
{
	if (n_tok <= 0)
		return;
	const int group = n_head / n_head_kv;
	const float scale = 1.0f / sqrtf((float)head_dim);
	if (head_dim <= 32)
		launch_attention<1>(st, k_cache, v_cache, q, n_tok, pos0, dev_pos, dev_base, n_head, group, head_dim, kv_dim, out, scale);
	else if (head_dim <= 64)
		launch_attention<2>(st, k_cache, v_cache, q, n_tok, pos0, dev_pos, dev_base, n_head, group, head_dim, kv_dim, out, scale);
	else if (head_dim <= 128)
		launch_attention<4>(st, k_cache, v_cache, q, n_tok, pos0, dev_pos, dev_base, n_head, group, head_dim, kv_dim, out, scale);
	else
		launch_attention<8>(st, k_cache, v_cache, q, n_tok, pos0, dev_pos, dev_base, n_head, group, head_dim, kv_dim, out, scale);
}

/* ---- element-wise ---- */

static __global__ void k_swiglu(float *gate, const float *up, size_t n)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		const float g = gate[i];
		gate[i] = g / (1.0f + expf(-g)) * up[i];
	}
}

static __global__ void k_add(float *x, const float *y, size_t n)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
		x[i] += y[i];
}

static __global__ void k_add_row(float *x, const float *b, size_t n, int dim)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
		x[i] += b[i % (size_t)dim];
}

void cu_swiglu(cu_exec *st, float *gate, const float *up, size_t n)
{
	if (!n)
		return;
	k_swiglu<<<grid_for(n, 256), 256, 0, st->stream>>>(gate, up, n);
	CU_LAUNCHED(&st->err);
}

void cu_add(cu_exec *st, float *x, const float *y, size_t n)
{
	if (!n)
		return;
	k_add<<<grid_for(n, 256), 256, 0, st->stream>>>(x, y, n);
	CU_LAUNCHED(&st->err);
}

void cu_add_row(cu_exec *st, float *x, const float *b, int n_tok, int dim)
{
	size_t n = (size_t)n_tok * (size_t)dim;
	if (!n)
		return;
	k_add_row<<<grid_for(n, 256), 256, 0, st->stream>>>(x, b, n, dim);
	CU_LAUNCHED(&st->err);
}

/* ---- log-softmax + gather (scoring): one block per row ---- */

static __global__ void k_logsoftmax_gather(const float *logits, int n_vocab, const int32_t *targets, double *lp,
					   int *greedy)
{
	__shared__ float s_max[32];
	__shared__ int s_arg[32];
	__shared__ double s_sum[32];
	const float *x = logits + (size_t)blockIdx.x * n_vocab;
	const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, nw = blockDim.x / 32;
	/* max and the first argmax: ties go to the lower index, as the CPU's strict > scan */
	float best = -INFINITY;
	int arg = 0x7fffffff;
	for (int i = threadIdx.x; i < n_vocab; i += blockDim.x)
		if (x[i] > best || (x[i] == best && i < arg)) {
			best = x[i];
			arg = i;
		}
	for (int o = 16; o > 0; o >>= 1) {
		const float ob = __shfl_xor_sync(FULL_MASK, best, o);
		const int oa = __shfl_xor_sync(FULL_MASK, arg, o);
		if (ob > best || (ob == best && oa < arg)) {
			best = ob;
			arg = oa;
		}
	}
	if (lane == 0) {
		s_max[warp] = best;
		s_arg[warp] = arg;
	}
	__syncthreads();
	if (threadIdx.x == 0) {
		for (int w = 1; w < nw; w++)
			if (s_max[w] > s_max[0] || (s_max[w] == s_max[0] && s_arg[w] < s_arg[0])) {
				s_max[0] = s_max[w];
				s_arg[0] = s_arg[w];
			}
	}
	__syncthreads();
	const float mx = s_max[0];
	double sum = 0.0;
	for (int i = threadIdx.x; i < n_vocab; i += blockDim.x)
		sum += exp((double)x[i] - (double)mx);
	sum = warp_sum_d(sum);
	if (lane == 0)
		s_sum[warp] = sum;
	__syncthreads();
	if (threadIdx.x == 0) {
		double tot = 0.0;
		for (int w = 0; w < nw; w++)
			tot += s_sum[w];
		const int tgt = targets[blockIdx.x];
		lp[blockIdx.x] = ((double)x[tgt] - (double)mx) - log(tot);
		greedy[blockIdx.x] = tgt == s_arg[0];
	}
}

void cu_logsoftmax_gather(cu_exec *st, const float *logits, int n_rows, int n_vocab, const int32_t *dev_targets,
			  double *dev_lp, int *dev_greedy)
{
	if (n_rows <= 0)
		return;
	k_logsoftmax_gather<<<n_rows, 256, 0, st->stream>>>(logits, n_vocab, dev_targets, dev_lp, dev_greedy);
	CU_LAUNCHED(&st->err);
}
