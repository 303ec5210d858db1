/*-------------------------------------------------------------------------
 *
 * autoencoder.c
 *	  Module entry point: settings, OpenBLAS's thread count, and the check
 *	  that OpenBLAS can get its buffers.
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
#include <sys/mman.h>
#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

#define AE_DEFAULT_THREADS		1
#define AE_MAX_THREADS			64
#define AE_DEFAULT_MAX_ROWS		1000000
#define AE_MEMORY_SHARE			4	/* default training memory: RAM / this */
#define AE_MIN_MEMORY_KB		(64 * 1024)
#define AE_BLAS_BUFFER			((size_t) 128 * 1024 * 1024)	/* OpenBLAS
																 * 0.3.21: per
																 * thread */

int			ae_threads = AE_DEFAULT_THREADS;
int			ae_max_training_rows = AE_DEFAULT_MAX_ROWS;
int			ae_max_training_memory = AE_MIN_MEMORY_KB;	/* kB; set in _PG_init */

static int	blas_ready_threads = 0;

void		_PG_init(void);

/* Cores of this machine. */
static int
machine_cores(void)
{
	long		n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int) n : 1;
}

/*
 * autoencoder.threads: more threads than cores only for superusers (or from
 * the configuration file and server command line).  OpenBLAS maps a large
 * buffer per thread; a role that could ask for 64 would take memory and
 * cores from everyone.
 */
static bool
threads_check(int *newval, void **extra, GucSource source)
{
	if (*newval > machine_cores() && source > PGC_S_ARGV && !superuser())
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("autoencoder.threads cannot exceed the %d cores of this machine",
						 machine_cores());
		GUC_check_errhint("Only a superuser may set more threads than cores.");
		return false;
	}
	return true;
}

/* autoencoder.threads took a new value: pass it to OpenBLAS. */
static void
threads_assign(int newval, void *extra)
{
	openblas_set_num_threads(newval);
}

/*
 * Before OpenBLAS runs with more threads than it has run with in this
 * backend: check that a buffer per thread can be mapped.  OpenBLAS maps
 * AE_BLAS_BUFFER per thread when it first needs it and, if mmap fails
 * (ulimit -v, a cgroup, vm.overcommit_memory = 2), retries forever in every
 * thread, where no cancel reaches it.  Mapping (and unmapping) the same
 * amount first turns that into an out_of_memory error.
 */
void
ae_blas_check(void)
{
	size_t		need;
	void	   *p;

	if (ae_threads <= blas_ready_threads)
		return;
	need = (size_t) (ae_threads + 1) * AE_BLAS_BUFFER;
	p = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("not enough memory for OpenBLAS's buffers"),
				 errdetail("OpenBLAS maps %zu MB per thread for %d threads, and mapping %zu MB failed: %m.",
						   AE_BLAS_BUFFER >> 20, ae_threads, need >> 20),
				 errhint("Lower autoencoder.threads, or raise the memory limit of the server.")));
	munmap(p, need);
	blas_ready_threads = ae_threads;
}

/* Define the settings and set OpenBLAS's thread count. */
void
_PG_init(void)
{
	long		pages = sysconf(_SC_PHYS_PAGES),
				page = sysconf(_SC_PAGESIZE);
	double		ram_kb = pages > 0 && page > 0 ? (double) pages * page / 1024.0 : 0;

	DefineCustomIntVariable("autoencoder.threads",
							"Number of OpenBLAS threads used by the extension.",
							"Valid range is 1 .. 64, and at most the number of cores "
							"for roles other than superusers.  More threads train large "
							"models faster but take cores from other backends.",
							&ae_threads,
							AE_DEFAULT_THREADS, 1, AE_MAX_THREADS,
							PGC_USERSET, 0,
							threads_check, threads_assign, NULL);
	DefineCustomIntVariable("autoencoder.max_training_memory",
							"Largest memory one training may use: rows, parameters, "
							"optimiser state and activations.",
							"Checked before allocating; a larger training fails with "
							"program_limit_exceeded.  Default: a quarter of the RAM.",
							&ae_max_training_memory,
							(int) Max(AE_MIN_MEMORY_KB,
									  Min((double) INT_MAX, ram_kb / AE_MEMORY_SHARE)),
							AE_MIN_MEMORY_KB, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
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
