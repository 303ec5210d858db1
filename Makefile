# autoencoder: PostgreSQL extension (PGXS build)
#
#   make && make install        build and install the extension
#   make installcheck           pg_regress: every sql/*.sql against a server
#   make prove_installcheck     TAP tests: test/t/*.pl (own clusters)
#   make check-core             the core's unit tests, no server
EXTENSION = autoencoder
MODULE_big = autoencoder
DATA = autoencoder--0.1.0.sql

AE_CORE_DIR = src/core
include $(AE_CORE_DIR)/core.mk
GLUE_SRC = $(wildcard src/pg/*.c)
OBJS = $(AE_CORE_SRC:.c=.o) $(GLUE_SRC:.c=.o)

PG_CPPFLAGS = -I$(AE_CORE_DIR)
PG_CFLAGS = -Wall -Wextra
SHLIB_LINK = -lopenblas -lm

# every sql/*.sql creates what it uses, so any one of them runs alone
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --outputdir=. --load-extension=autoencoder

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): $(AE_CORE_HDR)
$(GLUE_SRC:.c=.o): src/pg/ae_pg.h

# PostgreSQL's own headers trip these two -Wextra warnings; the core keeps them.
$(GLUE_SRC:.c=.o): CFLAGS += -Wno-unused-parameter -Wno-sign-compare

# TAP tests, as pgvector runs them: each test starts its own clusters.
.PHONY: prove_installcheck check-core
prove_installcheck:
	rm -rf $(CURDIR)/tmp_check
	cd $(srcdir) && TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" \
		PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
		$(PROVE) $(PG_PROVE_FLAGS) -I test/t $(PROVE_FLAGS) \
		$(if $(PROVE_TESTS),$(PROVE_TESTS),test/t/*.pl)

# Core unit tests, without a server.
check-core:
	$(MAKE) -C test check
