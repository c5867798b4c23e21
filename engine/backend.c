/* backend.c — choosing a model's backend, and loading the CUDA one at run time.
 *
 * The CPU backend is linked in. The CUDA backend lives in a separate shared
 * object (libmerilo-cuda.so, built by the Makefile where nvcc exists) that is
 * dlopen'd only when a model is opened with ENG_BACKEND_CUDA: the merilo
 * binary itself links no CUDA library, so it starts and runs on machines
 * without a GPU, a driver or the CUDA runtime; asking for CUDA there is one
 * clear error (MRL_ERUNTIME, exit 4 in the CLI) instead of a loader failure
 * at start-up. No driver at all (no libcuda.so.1) is found out here, before
 * the library is looked for; the library tells the other cases apart.
 *
 * Where the library is looked for, in order: $MERILO_CUDA_LIB (a path);
 * next to the executable, its build/ subfolder and its parent folder (so
 * build/merilo, ./merilo -> build/merilo and build/tests/x.t all find
 * build/libmerilo-cuda.so); then the loader's own search (LD_LIBRARY_PATH).
 *
 * The library is opened with RTLD_NODELETE: the CUDA runtime and libstdc++
 * it pulls in keep process-lifetime allocations (and atexit handlers) that
 * must not be unmapped under them by dlclose.
 *
 * Weights are uploaded once, when the model is opened; the device copies are
 * owned by the model (struct eng_backend_state) and freed in eng_model_close.
 */
#include "engine/eng_int.h"

#include <inttypes.h>

#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/cuda/cuda_api.h"

/* The NVIDIA driver's user-space library (the soname cudart itself dlopens). */
#define ENG_CUDA_DRIVER_LIB "libcuda.so.1"

/* A loaded device backend: owned by the model. */
struct eng_backend_state {
	void *lib;                       /* dlopen handle */
	const struct eng_cuda_api *api;
	void *dev;                       /* the backend's device handle */
	struct eng_weights w;            /* device copies; layers malloc'd here */
	char desc[256];                  /* the device, for messages and the manifest */
};

/* Folder of the running executable into buf (no trailing slash); false when unknown. */
static bool exe_dir(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	if (n <= 0 || (size_t)n >= size - 1)
		return false;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (!slash)
		return false;
	*slash = '\0';
	return true;
}

int eng_cuda_load(const struct eng_cuda_api **api, void **lib, struct mrl_err *err)
{
	*api = NULL;
	*lib = NULL;
	char cand[4][PATH_MAX + 32];
	char tried[sizeof cand + 16] = "";
	char first_err[512] = "";
	char dir[PATH_MAX];
	const char *env = getenv("MERILO_CUDA_LIB");
	void *h = NULL;
	if (env && *env) {
		h = dlopen(env, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
		if (!h)
			return mrl_err_set(err, MRL_ERUNTIME, "cuda backend: cannot load MERILO_CUDA_LIB=%s: %s", env,
					   dlerror());
	} else {
		int n_cand = 0;
		if (exe_dir(dir, sizeof dir)) {
			snprintf(cand[n_cand++], sizeof cand[0], "%s/%s", dir, ENG_CUDA_LIBNAME);
			snprintf(cand[n_cand++], sizeof cand[0], "%s/build/%s", dir, ENG_CUDA_LIBNAME);
			snprintf(cand[n_cand++], sizeof cand[0], "%s/../%s", dir, ENG_CUDA_LIBNAME);
		}
		snprintf(cand[n_cand++], sizeof cand[0], "%s", ENG_CUDA_LIBNAME);
		for (int i = 0; i < n_cand && !h; i++) {
			/* a candidate that exists but fails to load (missing libcublas, wrong
			 * architecture) is the reason worth reporting */
			bool exists = strchr(cand[i], '/') ? access(cand[i], F_OK) == 0 : true;
			h = dlopen(cand[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
			if (!h) {
				const char *why = dlerror();
				if (exists && !first_err[0] && (strchr(cand[i], '/') || !strstr(why ? why : "", "No such file")))
					snprintf(first_err, sizeof first_err, "%s", why ? why : "unknown error");
				size_t len = strlen(tried);
				snprintf(tried + len, sizeof tried - len, "%s%s", len ? ", " : "", cand[i]);
			}
		}
		if (!h)
			return mrl_err_set(err, MRL_ERUNTIME, "cuda backend: cannot load %s (tried %s)%s%s",
					   ENG_CUDA_LIBNAME, tried, first_err[0] ? ": " : "; not built here (no nvcc?)",
					   first_err);
	}
	dlerror();
	void *sym = dlsym(h, ENG_CUDA_ENTRY);
	if (!sym) {
		dlclose(h);
		return mrl_err_set(err, MRL_ERUNTIME, "cuda backend: %s has no entry point %s", ENG_CUDA_LIBNAME,
				   ENG_CUDA_ENTRY);
	}
	eng_cuda_entry_fn entry;
	memcpy(&entry, &sym, sizeof entry); /* object -> function pointer, as POSIX allows */
	if (entry(ENG_CUDA_ABI, api) != 0 || !*api || !(*api)->ops) {
		dlclose(h);
		*api = NULL;
		return mrl_err_set(err, MRL_ERUNTIME, "cuda backend: %s was built for another engine version (ABI %d "
				   "expected)", ENG_CUDA_LIBNAME, ENG_CUDA_ABI);
	}
	*lib = h;
	return 0;
}

void eng_cuda_unload(void *lib)
{
	if (lib)
		dlclose(lib);
}

static int upload(struct eng_backend_state *bk, struct eng_tensor *dst, const struct eng_tensor *src, const char *path,
		  const char *what, struct mrl_err *err)
{
	if (!src->data) {
		*dst = *src; /* an absent optional tensor stays absent */
		return 0;
	}
	char msg[512] = "";
	int rc = bk->api->tensor_upload(bk->dev, dst, src, msg, sizeof msg);
	if (rc)
		return mrl_err_set(err, rc, "%s: uploading %s to %s: %s", path, what, bk->desc, msg);
	return 0;
}

static void free_tensor(struct eng_backend_state *bk, struct eng_tensor *t)
{
	if (t->data)
		bk->api->tensor_free(bk->dev, t);
	t->data = NULL;
}

static int upload_weights(struct eng_model *m, struct eng_backend_state *bk, struct mrl_err *err)
{
	const struct eng_weights *h = &m->w;
	struct eng_weights *d = &bk->w;
	const uint32_t n_layer = m->cfg.n_layer;
	d->tied_output = h->tied_output;
	d->layers = calloc(n_layer ? n_layer : 1, sizeof *d->layers);
	if (!d->layers)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", m->path);
	int rc;
	if ((rc = upload(bk, &d->tok_embd, &h->tok_embd, m->path, "token_embd.weight", err)) ||
	    (rc = upload(bk, &d->output_norm, &h->output_norm, m->path, "output_norm.weight", err)))
		return rc;
	if (h->output.data == h->tok_embd.data)
		d->output = d->tok_embd; /* tied: one device copy, freed once */
	else if ((rc = upload(bk, &d->output, &h->output, m->path, "output.weight", err)))
		return rc;
	for (uint32_t il = 0; il < n_layer; il++) {
		const struct eng_layer *hl = &h->layers[il];
		struct eng_layer *dl = &d->layers[il];
		const struct eng_tensor *src[] = { &hl->attn_norm, &hl->wq, &hl->wk, &hl->wv, &hl->wo, &hl->bq, &hl->bk,
						   &hl->bv, &hl->ffn_norm, &hl->ffn_gate, &hl->ffn_up, &hl->ffn_down };
		struct eng_tensor *dst[] = { &dl->attn_norm, &dl->wq, &dl->wk, &dl->wv, &dl->wo, &dl->bq, &dl->bk,
					     &dl->bv, &dl->ffn_norm, &dl->ffn_gate, &dl->ffn_up, &dl->ffn_down };
		for (size_t i = 0; i < sizeof src / sizeof src[0]; i++) {
			char what[64];
			snprintf(what, sizeof what, "layer %u tensor %zu", il, i);
			if ((rc = upload(bk, dst[i], src[i], m->path, what, err)))
				return rc;
		}
	}
	return 0;
}

static void backend_free(struct eng_backend_state *bk, uint32_t n_layer)
{
	if (!bk)
		return;
	if (bk->api && bk->dev) {
		struct eng_weights *d = &bk->w;
		if (d->layers) {
			for (uint32_t il = 0; il < n_layer; il++) {
				struct eng_layer *dl = &d->layers[il];
				struct eng_tensor *t[] = { &dl->attn_norm, &dl->wq, &dl->wk, &dl->wv, &dl->wo, &dl->bq,
							   &dl->bk, &dl->bv, &dl->ffn_norm, &dl->ffn_gate, &dl->ffn_up,
							   &dl->ffn_down };
				for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
					free_tensor(bk, t[i]);
			}
		}
		if (d->output.data != d->tok_embd.data)
			free_tensor(bk, &d->output);
		free_tensor(bk, &d->tok_embd);
		free_tensor(bk, &d->output_norm);
		bk->api->device_close(bk->dev);
	}
	free(bk->w.layers);
	eng_cuda_unload(bk->lib);
	free(bk);
}

/* Refuse what the CUDA backend cannot compute, before a device is touched,
 * rather than compute it wrong: its ops are the Llama/Qwen2 set (no LayerNorm,
 * GELU, scale or soft cap in its op table; its attention takes neither a window
 * nor another scale), so any other architecture, or a flag of one, is refused. */
static int cuda_refuse(const struct eng_model *m, struct mrl_err *err)
{
	const struct eng_config *c = &m->cfg;
	bool llama_like = c->norm == ENG_NORM_RMS && c->ffn == ENG_FFN_SWIGLU && !c->learned_pos && !c->lin_bias &&
			  !c->post_norms && !c->fused_qkv && !c->fused_gate_up && !(c->embd_scale > 0.0f) && !(c->attn_softcap > 0.0f) &&
			  !(c->final_softcap > 0.0f) && c->attn_scale == 1.0f / sqrtf((float)c->head_dim);
	if ((c->arch != ENG_ARCH_LLAMA && c->arch != ENG_ARCH_QWEN2) || !llama_like)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: architecture '%s' is not implemented on the CUDA backend "
				   "yet (it runs llama, mistral and qwen2); use --backend cpu", m->path, c->arch_name);
	if (c->sliding_window)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: sliding-window attention is not implemented on the CUDA "
				   "backend yet; use --backend cpu", m->path);
	if (m->lora)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: a LoRA adapter is not implemented on the CUDA backend yet; "
				   "use --backend cpu", m->path);
	if (c->n_expert) /* its op table has no routing; moe.c's loop runs on host memory */
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: mixture-of-experts layers (%" PRIu32 " experts) are not "
				   "implemented on the CUDA backend yet; use --backend cpu", m->path, c->n_expert);
	return 0;
}

/* Is an NVIDIA driver installed? The CUDA runtime cannot tell "no driver" from
 * "a driver too old" (both are cudaErrorInsufficientDriver, "CUDA driver version
 * is insufficient for CUDA runtime version"), so look for the driver library
 * itself first, as cudart does: absent, or present but unloadable, is one
 * precise line, and holds whether or not libmerilo-cuda.so was built here.
 * Closed again at once; the runtime loads it itself. */
static int cuda_driver_probe(struct mrl_err *err)
{
	dlerror();
	void *h = dlopen(ENG_CUDA_DRIVER_LIB, RTLD_NOW | RTLD_LOCAL);
	if (h) {
		dlclose(h);
		return 0;
	}
	const char *why = dlerror();
	if (!why || strstr(why, "No such file"))
		return mrl_err_set(err, MRL_ERUNTIME, "cuda backend: no NVIDIA driver found (%s absent)",
				   ENG_CUDA_DRIVER_LIB);
	return mrl_err_set(err, MRL_ERUNTIME, "cuda backend: NVIDIA driver library %s found but cannot be loaded: %s",
			   ENG_CUDA_DRIVER_LIB, why);
}

int eng_backend_open(struct eng_model *m, struct mrl_err *err)
{
	m->ops = &eng_cpu_ops;
	m->wx = &m->w;
	if (m->backend == ENG_BACKEND_CPU)
		return eng_cpu_weights_open(m, err);
	int rc = cuda_refuse(m, err);
	if (rc)
		return rc;
	if (m->w.rope_factors || m->w.rope_long)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: rope frequency factors (Llama 3.1 rope scaling, Phi-3 "
				   "longrope) are not implemented on the CUDA backend yet; use --backend cpu", m->path);
	const struct eng_rope_scaling *rs = &m->cfg.rope_scaling;
	if (m->cfg.rope != ENG_ROPE_NONE && (rs->freq_scale || rs->ext_factor || rs->mscale))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: rope scaling (linear or YaRN interpolation, an attention "
				   "factor) is not implemented on the CUDA backend yet; use --backend cpu", m->path);
	if ((rc = cuda_driver_probe(err)))
		return rc;
	struct eng_backend_state *bk = calloc(1, sizeof *bk);
	if (!bk)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", m->path);
	if ((rc = eng_cuda_load(&bk->api, &bk->lib, err)))
		goto out;
	char msg[512] = "";
	if ((rc = bk->api->device_open(&bk->dev, bk->desc, sizeof bk->desc, msg, sizeof msg))) {
		rc = mrl_err_set(err, rc, "cuda backend: no usable CUDA device: %s", msg);
		goto out;
	}
	if ((rc = upload_weights(m, bk, err)))
		goto out;
	m->bk = bk;
	m->ops = bk->api->ops;
	m->wx = &bk->w;
	bk = NULL;
out:
	backend_free(bk, m->cfg.n_layer);
	return rc;
}

void eng_backend_close(struct eng_model *m)
{
	backend_free(m->bk, m->cfg.n_layer);
	m->bk = NULL;
}
