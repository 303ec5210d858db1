# The pure-C core (no postgres.h): the one list of its sources, included by
# the extension's Makefile, test/Makefile and bench/Makefile.  The includer
# sets AE_CORE_DIR to this directory's path relative to itself.
AE_CORE_SOURCES = ae_util.c ae_json.c ae_options.c ae_model.c ae_layers.c \
	ae_net.c ae_optim.c ae_scale.c ae_infer.c ae_train.c ae_format.c \
	ae_rows.c ae_stats.c ae_pca.c ae_pipeline.c ae_meta.c ae_exact.c \
	ae_fitstate.c ae_fitstate_read.c ae_sha256.c ae_eigen.c ae_eval.c ae_align.c ae_sim.c \
	ae_resid.c ae_resolve.c
AE_CORE_SRC = $(addprefix $(AE_CORE_DIR)/,$(AE_CORE_SOURCES))
AE_CORE_HDR = $(wildcard $(AE_CORE_DIR)/*.h)
