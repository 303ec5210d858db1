# autoencoder: PostgreSQL extension (PGXS build)
EXTENSION = autoencoder
MODULE_big = autoencoder
DATA = autoencoder--0.1.0.sql

CORE_OBJS = src/ae_util.o src/ae_model.o src/ae_layers.o src/ae_net.o \
	src/ae_optim.o src/ae_scale.o src/ae_infer.o src/ae_train.o \
	src/ae_format.o src/ae_stats.o src/ae_pca.o
GLUE_OBJS = src/autoencoder.o src/ae_pg_array.o src/ae_pg_cache.o \
	src/ae_pg_infer.o src/ae_pg_train.o src/ae_pg_options.o \
	src/ae_pg_store.o src/ae_pg_model.o src/ae_pg_fit.o src/ae_pg_batch.o \
	src/ae_pg_build.o src/ae_pg_bytes.o
OBJS = $(CORE_OBJS) $(GLUE_OBJS)

PG_CFLAGS = -Wall -Wextra
SHLIB_LINK = -lopenblas -lm

REGRESS = train infer errors fit lifecycle roles
REGRESS_OPTS = --inputdir=. --outputdir=. --load-extension=autoencoder

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Every object depends on the headers it includes.
$(OBJS): src/ae_core.h
$(GLUE_OBJS): src/ae_pg.h

# PostgreSQL's own headers trip these two -Wextra warnings; the core keeps them.
$(GLUE_OBJS): CFLAGS += -Wno-unused-parameter -Wno-sign-compare

# Core unit tests, without a server.
.PHONY: check-core
check-core:
	$(MAKE) -C test check
