/*-------------------------------------------------------------------------
 *
 * autoencoder.c
 *	  Module entry point: settings and OpenBLAS's thread count.
 *
 * _PG_init only defines the settings and tells OpenBLAS how many threads
 * to use; it reads no catalog (parallel workers load the library before
 * their caches exist).  The library links OpenBLAS, so it must never be in
 * shared_preload_libraries: OpenBLAS starts its thread pool when it loads
 * and the postmaster forks afterwards.
 *
 *-------------------------------------------------------------------------
 */
#include "ae_pg.h"

#include <cblas.h>
#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

#define AE_DEFAULT_THREADS		1
#define AE_MAX_THREADS			64
#define AE_DEFAULT_MAX_ROWS		1000000

int			ae_threads = AE_DEFAULT_THREADS;
int			ae_max_training_rows = AE_DEFAULT_MAX_ROWS;

void		_PG_init(void);

/* autoencoder.threads took a new value: pass it to OpenBLAS. */
static void
threads_assign(int newval, void *extra)
{
	openblas_set_num_threads(newval);
}

/* Define the settings and set OpenBLAS's thread count. */
void
_PG_init(void)
{
	DefineCustomIntVariable("autoencoder.threads",
							"Number of OpenBLAS threads used by the extension.",
							"Valid range is 1 .. 64.  More threads train large models "
							"faster but take cores from other backends.",
							&ae_threads,
							AE_DEFAULT_THREADS, 1, AE_MAX_THREADS,
							PGC_USERSET, 0,
							NULL, threads_assign, NULL);
	DefineCustomIntVariable("autoencoder.max_training_rows",
							"Largest number of rows train() uses; above it, a uniform random sample.",
							"Valid range is 1 .. 2147483647.  Memory use is about "
							"4 bytes per element of the rows kept.",
							&ae_max_training_rows,
							AE_DEFAULT_MAX_ROWS, 1, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("autoencoder");
	openblas_set_num_threads(ae_threads);
}
