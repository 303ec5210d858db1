/*-------------------------------------------------------------------------
 *
 * ae_rows.c
 *	  The training rows: kept in chunks, sampled by a seeded hash.
 *
 * Rows arrive one by one (a cursor's rows for train()).  Until max_rows
 * are kept each row is written straight into the next free slot of the
 * current chunk (CHUNK_BYTES each, so nothing approaches an allocator's
 * 1 GB limit).  Past that the store keeps a uniform sample: every row gets
 * a key, a seeded 64-bit hash of its bytes, and the max_rows rows with the
 * smallest keys are kept (bottom-k sampling).  A row is written into
 * scratch first; if its key beats the largest key kept (the top of a
 * max-heap of slots), it replaces that row.  Because keys depend only on
 * the rows and the seed, the sample does not depend on the order of the
 * rows or on how a stream was split: the fit aggregate merges partial
 * samples into the same sample by keeping the smallest keys again.
 * ae_rowstore_finish puts a sample in key order, so training sees the
 * same rows in the same order however they arrived.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pipeline.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_BYTES		((size_t) 8 * 1024 * 1024)
#define FIRST_CAP		4096

/* One chunk of rows; the floats follow the header. */
typedef struct chunk_hdr
{
	struct chunk_hdr *next;
	double		align;			/* keeps the floats 8-byte aligned */
} chunk_hdr;

/* A 64-bit finaliser (murmur3's fmix64). */
static inline uint64_t
fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

/* Seeded hash of a row's bytes, two floats at a time. */
uint64_t
ae_row_key(const float *row, int d, uint64_t seed)
{
	uint64_t	h = fmix64(seed ^ ((uint64_t) d * UINT64_C(0x9E3779B97F4A7C15)));
	int			i;

	for (i = 0; i + 2 <= d; i += 2)
	{
		uint64_t	w;

		memcpy(&w, row + i, 8);
		h = (h ^ fmix64(w + (uint64_t) i)) * UINT64_C(0x9E3779B97F4A7C15);
		h = (h << 29) | (h >> 35);
	}
	if (i < d)
	{
		uint32_t	w;

		memcpy(&w, row + i, 4);
		h = (h ^ fmix64((uint64_t) w + (uint64_t) i)) * UINT64_C(0x9E3779B97F4A7C15);
	}
	return fmix64(h);
}

/* Set up an empty store for rows of d floats. */
ae_status
ae_rowstore_init(ae_rowstore *rs, int d, size_t max_rows, uint64_t seed,
				 const ae_allocator *alloc)
{
	memset(rs, 0, sizeof(*rs));
	if (d < 1 || max_rows < 1)
		return AE_EINVAL;
	rs->d = d;
	rs->max_rows = max_rows;
	rs->seed = seed;
	rs->alloc = *alloc;
	rs->scratch = alloc->alloc(alloc->ctx, sizeof(float) * (size_t) d);
	return rs->scratch ? AE_OK : AE_ENOMEM;
}

/* Grow the slot arrays to hold at least one more row. */
static int
grow_slots(ae_rowstore *rs)
{
	size_t		cap = rs->cap ? rs->cap * 2 : FIRST_CAP;
	float	  **rows;
	uint64_t   *keys;

	if (cap > rs->max_rows)
		cap = rs->max_rows;
	rows = rs->alloc.alloc(rs->alloc.ctx, sizeof(float *) * cap);
	keys = rs->alloc.alloc(rs->alloc.ctx, sizeof(uint64_t) * cap);
	if (rows == NULL || keys == NULL)
	{
		if (rows)
			rs->alloc.release(rs->alloc.ctx, rows);
		if (keys)
			rs->alloc.release(rs->alloc.ctx, keys);
		return 0;
	}
	if (rs->n)
	{
		memcpy(rows, rs->rows, sizeof(float *) * rs->n);
		memcpy(keys, rs->keys, sizeof(uint64_t) * rs->n);
		rs->alloc.release(rs->alloc.ctx, rs->rows);
		rs->alloc.release(rs->alloc.ctx, rs->keys);
	}
	rs->rows = rows;
	rs->keys = keys;
	rs->cap = cap;
	return 1;
}

/* A new chunk for up to the rows still missing to max_rows. */
static int
new_chunk(ae_rowstore *rs)
{
	size_t		per = CHUNK_BYTES / (sizeof(float) * (size_t) rs->d);
	size_t		want = per ? per : 1;
	chunk_hdr  *c;

	if (want > rs->max_rows - rs->n)
		want = rs->max_rows - rs->n;
	c = rs->alloc.alloc(rs->alloc.ctx, sizeof(chunk_hdr) +
						sizeof(float) * (size_t) rs->d * want);
	if (c == NULL)
		return 0;
	c->next = rs->chunks;
	rs->chunks = c;
	rs->chunk = (float *) (c + 1);
	rs->chunk_left = want;
	return 1;
}

/* Where the next row goes: a new slot while there is room, else scratch. */
float *
ae_rowstore_next(ae_rowstore *rs)
{
	if (rs->n < rs->max_rows)
	{
		if (rs->n == rs->cap && !grow_slots(rs))
			return NULL;
		if (rs->chunk_left == 0 && !new_chunk(rs))
			return NULL;
		rs->pending_new = 1;
		return rs->chunk;
	}
	rs->pending_new = 0;
	return rs->scratch;
}

/* Restore a max-heap of n slots (ordered by keys[slot]) below position i. */
void
ae_keyheap_sift_down(size_t *heap, size_t n, const uint64_t *keys, size_t i)
{
	for (;;)
	{
		size_t		l = 2 * i + 1,
					r = l + 1,
					big = i,
					t;

		if (l < n && keys[heap[l]] > keys[heap[big]])
			big = l;
		if (r < n && keys[heap[r]] > keys[heap[big]])
			big = r;
		if (big == i)
			return;
		t = heap[i];
		heap[i] = heap[big];
		heap[big] = t;
		i = big;
	}
}

/* Make heap[0..n) = slots 0..n-1 a max-heap by key. */
void
ae_keyheap_build(size_t *heap, size_t n, const uint64_t *keys)
{
	for (size_t i = 0; i < n; i++)
		heap[i] = i;
	for (size_t i = n / 2; i-- > 0;)
		ae_keyheap_sift_down(heap, n, keys, i);
}

/* Build the heap once the store is full; 0 when out of memory. */
static int
build_heap(ae_rowstore *rs)
{
	rs->heap = rs->alloc.alloc(rs->alloc.ctx, sizeof(size_t) * rs->n);
	if (rs->heap == NULL)
		return 0;
	ae_keyheap_build(rs->heap, rs->n, rs->keys);
	return 1;
}

/* Offer the row written at the last ae_rowstore_next. */
void
ae_rowstore_commit(ae_rowstore *rs)
{
	uint64_t	key;

	rs->seen++;
	if (rs->pending_new)
	{
		/* written in place: take the slot */
		rs->rows[rs->n] = rs->chunk;
		rs->keys[rs->n] = ae_row_key(rs->chunk, rs->d, rs->seed);
		rs->chunk += rs->d;
		rs->chunk_left--;
		rs->n++;
		rs->pending_new = 0;
		return;
	}
	key = ae_row_key(rs->scratch, rs->d, rs->seed);
	if (rs->heap == NULL && !build_heap(rs))
		return;					/* out of memory: keep the rows we have */
	if (key < rs->keys[rs->heap[0]])
	{
		size_t		slot = rs->heap[0];

		memcpy(rs->rows[slot], rs->scratch, sizeof(float) * rs->d);
		rs->keys[slot] = key;
		ae_keyheap_sift_down(rs->heap, rs->n, rs->keys, 0);
	}
}

/* Order of (key, row) pairs: by key, equal keys by the rows' bytes. */
static int
cmp_keyed(const void *a, const void *b)
{
	const ae_keyed_row *x = a,
			   *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return memcmp(x->row, y->row, sizeof(float) * (size_t) x->d);
}

/* Sort n (key, row) pairs into the canonical order of a sample. */
void
ae_keyed_sort(ae_keyed_row *kr, size_t n)
{
	qsort(kr, n, sizeof(ae_keyed_row), cmp_keyed);
}

/* A sample (more rows seen than kept) is put in key order. */
void
ae_rowstore_finish(ae_rowstore *rs)
{
	ae_keyed_row *kr;

	if (rs->seen <= rs->n || rs->n < 2)
		return;
	kr = rs->alloc.alloc(rs->alloc.ctx, sizeof(ae_keyed_row) * rs->n);
	if (kr == NULL)
		return;					/* the sample stays in slot order */
	for (size_t i = 0; i < rs->n; i++)
	{
		kr[i].key = rs->keys[i];
		kr[i].row = rs->rows[i];
		kr[i].d = rs->d;
	}
	ae_keyed_sort(kr, rs->n);
	for (size_t i = 0; i < rs->n; i++)
	{
		rs->keys[i] = kr[i].key;
		rs->rows[i] = (float *) kr[i].row;
	}
	rs->alloc.release(rs->alloc.ctx, kr);
}

/* Release everything the store holds. */
void
ae_rowstore_free(ae_rowstore *rs)
{
	chunk_hdr  *c = rs->chunks;

	while (c)
	{
		chunk_hdr  *next = c->next;

		rs->alloc.release(rs->alloc.ctx, c);
		c = next;
	}
	if (rs->rows)
		rs->alloc.release(rs->alloc.ctx, rs->rows);
	if (rs->keys)
		rs->alloc.release(rs->alloc.ctx, rs->keys);
	if (rs->heap)
		rs->alloc.release(rs->alloc.ctx, rs->heap);
	if (rs->scratch)
		rs->alloc.release(rs->alloc.ctx, rs->scratch);
	memset(rs, 0, sizeof(*rs));
}
