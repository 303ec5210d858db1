/*-------------------------------------------------------------------------
 *
 * ae_bytes.h
 *	  Little-endian reading and writing of the core's byte formats (the
 *	  model format and the fit state), whatever the host's byte order.
 *	  Readers do not check bounds: their callers have.  Private to the core.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_BYTES_H
#define AE_BYTES_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline unsigned char *
ae_put_u16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char) v;
	p[1] = (unsigned char) (v >> 8);
	return p + 2;
}

static inline unsigned char *
ae_put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char) (v >> (8 * i));
	return p + 4;
}

static inline unsigned char *
ae_put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char) (v >> (8 * i));
	return p + 8;
}

/* n floats, each as its IEEE bits. */
static inline unsigned char *
ae_put_floats(unsigned char *p, const float *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	bits;

		memcpy(&bits, &f[i], 4);
		p = ae_put_u32(p, bits);
	}
	return p;
}

/* n doubles, each as its IEEE bits. */
static inline unsigned char *
ae_put_doubles(unsigned char *p, const double *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		uint64_t	bits;

		memcpy(&bits, &f[i], 8);
		p = ae_put_u64(p, bits);
	}
	return p;
}

static inline uint16_t
ae_get_u16(const unsigned char *p)
{
	return (uint16_t) (p[0] | p[1] << 8);
}

static inline uint32_t
ae_get_u32(const unsigned char *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 |
		(uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static inline uint64_t
ae_get_u64(const unsigned char *p)
{
	return (uint64_t) ae_get_u32(p) | (uint64_t) ae_get_u32(p + 4) << 32;
}

/* Read n floats; 0 if any is not finite. */
static inline int
ae_get_floats(const unsigned char *p, float *f, size_t n)
{
	int			ok = 1;

	for (size_t i = 0; i < n; i++)
	{
		uint32_t	bits = ae_get_u32(p + 4 * i);

		memcpy(&f[i], &bits, 4);
		ok &= isfinite(f[i]) != 0;
	}
	return ok;
}

/* Read n doubles; 0 if any is not finite. */
static inline int
ae_get_doubles(const unsigned char *p, double *f, size_t n)
{
	int			ok = 1;

	for (size_t i = 0; i < n; i++)
	{
		uint64_t	bits = ae_get_u64(p + 8 * i);

		memcpy(&f[i], &bits, 8);
		ok &= isfinite(f[i]) != 0;
	}
	return ok;
}

#endif							/* AE_BYTES_H */
