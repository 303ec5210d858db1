/*-------------------------------------------------------------------------
 *
 * ae_meta.h
 *	  A model's metadata: the describe() document and what save() keeps.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AE_META_H
#define AE_META_H

#include "ae_core.h"
#include "ae_json.h"

/* Parse m's metadata: a JSON object (else AE_EFORMAT) of finite numbers (else AE_EINVAL). */
ae_status	ae_meta_parse(const ae_model *m, const ae_allocator *alloc,
						  ae_jdoc *doc);
/* describe(): computed facts, then the metadata members of other names. */
char	   *ae_model_describe(const ae_model *m, size_t size_bytes,
							  const ae_allocator *alloc);
/*
 * The anomaly threshold of m's training figures (NaN if none) and its error
 * distribution (AE_QUANTILES values) if asked; returns whether it has one.
 */
int			ae_meta_threshold(const ae_model *m, const ae_allocator *alloc,
							  double *threshold, double *quantiles);
/* save(): the configuration, the known training figures, the threshold. */
ae_status	ae_meta_for_save(const ae_model *m, const ae_allocator *alloc,
							 char **config, char **metrics, double *threshold);

#endif							/* AE_META_H */
