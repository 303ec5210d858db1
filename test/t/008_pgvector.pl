# autoencoder with pgvector: embeddings in a vector column, codes in a
# halfvec column under an HNSW index, through pgvector's own casts (no
# overloads: see "Embeddings in pgvector" in the README).
#
#   - the data: $N + $Q synthetic 384-d unit-length embeddings with cluster
#     structure (16 clusters in a 24-d subspace, plus isotropic noise),
#     generated deterministically in SQL (setseed) into vector(384)
#     columns: $N items, $Q held-out queries;
#   - train() reads a vector column through pgvector's cast to real[]
#     (emb::real[]); without it the error names the type;
#   - serving takes vector values as they are (the implicit cast vector ->
#     real[] picks the real[] functions; no ambiguity): encode, the pinned
#     version, the model value, reconstruct, reconstruction_error, decode
#     and the fit aggregate give the real[] path's results bit for bit;
#     halfvec needs an explicit ::real[] (its cast is assignment only);
#   - encode_table reads the vector column and writes a halfvec(32) code
#     column of a target table with the version column (and a vector(32)
#     column of the source table): the codes are encode_query's, to
#     halfvec rounding (vector, in one batch: bit for bit); a column of the
#     wrong dimension is refused;
#   - an HNSW index (halfvec_cosine_ops) on the codes is used by the k-NN
#     query and by the LATERAL form the recall is measured with;
#   - recall@10 against exact cosine search in the input space over the
#     $Q queries, of exact search on the codes (a PCA model: the README's
#     recommendation) and of HNSW search on them;
#   - a new deployment (a nonlinear model trained by gradient descent, with
#     explicit epochs): encode_table re-encodes every row of the old
#     version in place, and after a VACUUM the index serves the new codes
#     at their own exact-search recall.
#
# Needs pgvector (0.7.0 or later: halfvec) in the server tested.
# scripts/test.sh builds it from ../shared/pgvector (pgvector 0.8.6 source
# and build.sh) and exports AE_PGVECTOR_DIR; without it the test skips.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use AeTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $t0 = time;

my $N = 4000;       # items (trained on, encoded, indexed)
my $Q = 100;        # held-out queries
my $DIMS = 384;
my $LATENT = 32;
my $K = 10;         # recall@10

# Bounds, set from measurements on these data (pgvector 0.8.6, HNSW with
# the default m 16, ef_construction 64, ef_search 40): exact search on the
# PCA codes finds 0.921 of the input space's 10 nearest neighbours, on the
# nonlinear model's codes 0.816; HNSW on the codes finds as many, to 0.001.
my $PCA_EXACT_MIN = 0.80;
my $SGD_EXACT_MIN = 0.65;
my $HNSW_RATIO_MIN = 0.90;    # HNSW recall >= this x exact search's on the same codes
my $HALF_REL = 2**-11;        # halfvec: 11 significant bits, rounded to nearest

# ------------------------------------------------------------------ skip
my $shared = $ENV{AE_PGVECTOR_DIR} // '';
if ($shared eq '')
{
	plan skip_all => 'skip: pgvector test not run: AE_PGVECTOR_DIR is not set. '
	  . 'scripts/test.sh sets it when ../shared/pgvector (the pgvector 0.8.6 source tarball and build.sh) '
	  . 'exists, after installing pgvector with its build.sh; by hand: (as root) '
	  . 'PG_CONFIG=<pg_config> bash ../shared/pgvector/build.sh, then AE_PGVECTOR_DIR=<that directory>';
}

my $node = ae_new_node('pgvector');
my $available = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'vector'");
my $pg_config = `command -v pg_config 2>/dev/null` // '';
chomp $pg_config;
my $pkglibdir = $pg_config eq '' ? '?' : `$pg_config --pkglibdir 2>/dev/null` // '?';
chomp $pkglibdir;
if ($available eq '')
{
	$node->stop;
	plan skip_all => "skip: pgvector is not installed in the server tested (no extension \"vector\"; "
	  . "pkglibdir $pkglibdir) although AE_PGVECTOR_DIR=$shared: "
	  . "run (as root) PG_CONFIG=$pg_config bash $shared/build.sh, as scripts/test.sh does before prove";
}
my @v = split /\./, $available;
if ($v[0] == 0 && $v[1] < 7)
{
	$node->stop;
	plan skip_all => "skip: pgvector $available is installed; halfvec needs 0.7.0 or later "
	  . "(run bash $shared/build.sh for 0.8.6)";
}
note("pgvector $available, from $shared");

sub q1 { return $node->safe_psql('postgres', $_[0]); }

q1('CREATE EXTENSION vector; CREATE EXTENSION autoencoder;');
is(q1("SELECT extversion FROM pg_extension WHERE extname = 'vector'"), $available, "pgvector $available created");

# ------------------------------------------------------------------ data
# Row i of cluster i % 16: x = normalize(B (c + 0.5 g) + 0.05 n) with B 24
# random unit directions in 384-d, c the cluster's centre and g (24-d), n
# (384-d) standard normal draws.  The product B z is a sum of vectors
# (pgvector's * and sum), which is fast.  One session, serial plans, so
# setseed fixes every draw.
my $t = time;
q1(<<"EOS");
SET max_parallel_workers_per_gather = 0;
SELECT setseed(0.42);
CREATE FUNCTION pg_temp.gauss() RETURNS float8 LANGUAGE sql VOLATILE AS
  \$\$ SELECT sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) \$\$;
CREATE TEMP TABLE basis AS
SELECT f, l2_normalize(ARRAY(SELECT pg_temp.gauss() FROM generate_series(1, $DIMS) j
                             WHERE f IS NOT NULL)::vector) AS b
FROM generate_series(1, 24) f ORDER BY f;
CREATE TEMP TABLE centre AS
SELECT k, ARRAY(SELECT pg_temp.gauss() FROM generate_series(1, 24) f WHERE k IS NOT NULL) AS c
FROM generate_series(0, 15) k ORDER BY k;
CREATE TEMP TABLE lat AS
SELECT i, f, c.c[f] + 0.5 * pg_temp.gauss() AS z
FROM generate_series(1, $N + $Q) i JOIN centre c ON c.k = i % 16, generate_series(1, 24) f
ORDER BY i, f;
CREATE TABLE emb_all (id int PRIMARY KEY, emb vector($DIMS) NOT NULL);
INSERT INTO emb_all
SELECT s.i, l2_normalize(s.v + ARRAY(SELECT 0.05 * pg_temp.gauss() FROM generate_series(1, $DIMS) j
                                     WHERE s.i IS NOT NULL)::vector)
FROM (SELECT l.i, sum(b.b * array_fill(l.z, ARRAY[$DIMS])::vector) AS v
      FROM lat l JOIN basis b USING (f) GROUP BY l.i) s
ORDER BY s.i;
CREATE TABLE items (id int PRIMARY KEY, emb vector($DIMS) NOT NULL);
INSERT INTO items SELECT * FROM emb_all WHERE id <= $N;
CREATE TABLE queries (id int PRIMARY KEY, emb vector($DIMS) NOT NULL);
INSERT INTO queries SELECT * FROM emb_all WHERE id > $N;
DROP TABLE emb_all;
VACUUM ANALYZE items;
VACUUM ANALYZE queries;
EOS
note(sprintf('data generated in %.1f s', time - $t));
is( q1(
		"SELECT count(*) || ' ' || min(vector_dims(emb)) || ' ' || (max(abs(vector_norm(emb) - 1)) < 1e-5) FROM items"),
	"$N $DIMS true",
	"$N items of $DIMS dimensions, unit length");
is(q1("SELECT count(*) FROM queries"), $Q, "$Q held-out queries");
# the clusters are there: a query's nearest item is of its cluster
is( q1(
		"SELECT count(*) FROM queries q, LATERAL (SELECT i.id FROM items i ORDER BY i.emb <=> q.emb LIMIT 1) n "
		  . "WHERE n.id % 16 = q.id % 16"),
	$Q, 'every query\'s nearest item is of its cluster');

# the truth: each query's 10 nearest items by exact cosine distance in the
# input space (no index on items)
q1(     "CREATE TABLE truth AS SELECT q.id AS qid, n.id FROM queries q, "
	  . "LATERAL (SELECT i.id FROM items i ORDER BY i.emb <=> q.emb LIMIT $K) n");
is(q1('SELECT count(DISTINCT (qid, id)) FROM truth'), $Q * $K, 'ground truth: 10 neighbours per query');

# ------------------------------------------------------------------ training
# train() reads a vector column through pgvector's cast to real[], exactly as
# the same values cast by hand: the same model bytes
q1(     ae_setup_sql()
	  . "SELECT autoencoder.train('x1', 'SELECT emb FROM items ORDER BY id', latent_dim => 4, "
	  . "activation => 'linear', scaling => 'none'), "
	  . "autoencoder.train('x2', 'SELECT emb::real[] FROM items ORDER BY id', latent_dim => 4, "
	  . "activation => 'linear', scaling => 'none')");
is( q1(
		"SELECT md5(string_agg(autoencoder.encode('x1', emb)::text, ';' ORDER BY id)) = "
		  . "md5(string_agg(autoencoder.encode('x2', emb)::text, ';' ORDER BY id)) FROM items"),
	't',
	'train() on a vector column: the same model as on emb::real[] (codes bit for bit)');
q1("SELECT autoencoder.drop_model('x1'), autoencoder.drop_model('x2')");
my ($rc, $out, $err);

# version 1: exact PCA (activation linear), no scaling (the README's choice
# for embeddings compared by cosine)
$t = time;
q1(     ae_setup_sql()
	  . "SELECT autoencoder.train('emb_ae', 'SELECT emb::real[] FROM items ORDER BY id', "
	  . "latent_dim => $LATENT, hidden_units => '{}', activation => 'linear', scaling => 'none')");
note(sprintf('version 1 (PCA) trained in %.2f s', time - $t));
is( q1(
		"SELECT autoencoder.deployed_version('emb_ae') || ' ' || (m->'config'->>'input_dim') || ' ' "
		  . "|| (m->'config'->>'latent_dim') || ' ' || (m->'config'->>'solver') "
		  . "FROM autoencoder.describe(autoencoder.get_model('emb_ae')) m"),
	"1 $DIMS $LATENT exact",
	"version 1 deployed: $DIMS -> $LATENT, exact PCA");

# ------------------------------------------------------------------ serving vector values
# The real[] copy of each embedding parsed from vector's text (its shortest
# exact float4 form), not through vector's cast.
q1(     "CREATE TABLE sample AS SELECT id, emb, "
	  . "string_to_array(btrim(emb::text, '[]'), ',')::real[] AS x FROM items WHERE id % 20 = 0");
my $S = $N / 20;
is(q1('SELECT count(*) FILTER (WHERE emb::real[] = x) FROM sample'), $S, "the real[] copies equal the vectors ($S rows)");
is( q1(
		"SELECT pg_typeof(autoencoder.encode('emb_ae', emb)) || ' ' "
		  . "|| pg_typeof(autoencoder.reconstruction_error('emb_ae', emb)) FROM sample LIMIT 1"),
	'real[] double precision',
	'encode(name, vector) resolves (to the real[] function): no overload, no ambiguity');
my %same = (
	'encode(name, x)'               => ["autoencoder.encode('emb_ae', emb)", "autoencoder.encode('emb_ae', x)"],
	'encode(name, x, version)'      => ["autoencoder.encode('emb_ae', emb, 1)", "autoencoder.encode('emb_ae', x, 1)"],
	'encode(model, x)'              => ["autoencoder.encode(autoencoder.get_model('emb_ae'), emb)",
		"autoencoder.encode(autoencoder.get_model('emb_ae'), x)"],
	'reconstruct(name, x)'          => ["autoencoder.reconstruct('emb_ae', emb)", "autoencoder.reconstruct('emb_ae', x)"],
	'reconstruction_error(name, x)' => ["autoencoder.reconstruction_error('emb_ae', emb)",
		"autoencoder.reconstruction_error('emb_ae', x)"],
	'decode(name, code)'            => ["autoencoder.decode('emb_ae', autoencoder.encode('emb_ae', emb)::vector)",
		"autoencoder.decode('emb_ae', autoencoder.encode('emb_ae', x))"],);
for my $f (sort keys %same)
{
	my ($vec, $arr) = @{ $same{$f} };
	is(q1("SELECT count(*) FILTER (WHERE $vec = $arr AND $vec IS NOT NULL) FROM sample"),
		$S, "$f: a vector gives the real[] result bit for bit ($S rows)");
}
is( q1(
		"SELECT (SELECT md5(autoencoder.fit(emb, '{\"latent_dim\": 4, \"activation\": \"linear\"}')::text) FROM sample) = "
		  . "(SELECT md5(autoencoder.fit(x, '{\"latent_dim\": 4, \"activation\": \"linear\"}')::text) FROM sample)"),
	't',
	'fit(vector) gives the model fit(real[]) gives');
# halfvec inputs: its cast to real[] is assignment only, so an explicit cast
($rc, $out, $err) = $node->psql('postgres', "SELECT autoencoder.encode('emb_ae', emb::halfvec) FROM sample");
like($err, qr/function autoencoder\.encode\(unknown, halfvec\) does not exist/,
	'encode(name, halfvec) does not resolve (the README: cast it, ::real[])');
cmp_ok(
	q1(     "SELECT max(abs(a - b)) FROM sample, "
		  . "unnest(autoencoder.encode('emb_ae', emb::halfvec::real[]), autoencoder.encode('emb_ae', emb)) u(a, b)"),
	'<', 0.01,
	'encode(name, halfvec::real[]) is the vector\'s code to halfvec rounding of the input');

# ------------------------------------------------------------------ encode_table into halfvec(32)
q1(     "CREATE TABLE item_codes (id bigint PRIMARY KEY, code halfvec($LATENT), code_version integer);"
	  . "CREATE TABLE bad_codes (id bigint PRIMARY KEY, code halfvec(16), code_version integer)");
($rc, $out, $err) =
  $node->psql('postgres', "CALL autoencoder.encode_table('emb_ae', 'items', 'emb', target => 'bad_codes')");
like($err, qr/code column "code" has 16 dimensions, but the codes of model "emb_ae" version 1 have $LATENT/,
	'encode_table refuses a halfvec(16) code column for 32-d codes');
$t = time;
($rc, $out, $err) = $node->psql('postgres',
	"SET client_min_messages = notice; CALL autoencoder.encode_table('emb_ae', 'items', 'emb', target => 'item_codes', batch_size => 1000)"
);
is($rc, 0, 'encode_table: vector input column, halfvec(32) code column in a target table') or diag($err);
note(sprintf('encode_table of %d rows in %.2f s', $N, time - $t));
like($err, qr/encoding $N rows of items with model "emb_ae" version 1 \($N without a code/,
	"... $N rows to encode");
is(q1('SELECT count(*) || \' \' || count(code) || \' \' || count(*) FILTER (WHERE code_version = 1) FROM item_codes'),
	"$N $N $N", "every item has a halfvec code of version 1");
# the codes: encode_query's (real[]) to halfvec rounding; per element
# |h - f| <= |f| 2^-11 (+ the smallest subnormal step)
q1(     "CREATE TABLE ref1 AS SELECT * FROM "
	  . "autoencoder.encode_query('emb_ae', 'SELECT id, emb::real[] FROM items', 1)");
my ($bad, $maxrel, $maxabs) = split /\|/, q1(<<"EOS");
SELECT count(*) FILTER (WHERE abs(h - f) > abs(f) * $HALF_REL + 6e-8) || '|'
       || round(max(abs(h - f) / abs(f)) FILTER (WHERE abs(f) >= 6.1e-5)::numeric, 6) || '|'
       || round(max(abs(h - f))::numeric, 6)
FROM item_codes c JOIN ref1 r USING (id), unnest(c.code::real[], r.code) u(h, f)
EOS
is($bad, 0,
	"halfvec codes equal encode_query's to halfvec rounding (max rel. error $maxrel where normal, max abs. $maxabs)");
cmp_ok(
	q1(     "SELECT max(abs(a - b)) FROM item_codes c JOIN sample s USING (id), "
		  . "unnest(c.code::real[], autoencoder.encode('emb_ae', s.emb)) u(a, b)"),
	'<', 2e-3, 'and encode(name, vector)\'s, to halfvec rounding');

# round trips: real[] -> vector -> real[] is exact; real[] -> halfvec ->
# vector -> real[] is the halfvec's value; a halfvec code decodes to the
# reconstruction
is( q1(
		"SELECT count(*) FILTER (WHERE r.code::vector($LATENT)::real[] = r.code "
		  . "AND r.code::halfvec($LATENT)::vector::real[] = r.code::halfvec($LATENT)::real[]) FROM ref1 r"),
	$N,
	'code round trips: real[] -> vector -> real[] bit for bit; halfvec -> vector -> real[] keeps the halfvec value');
cmp_ok(
	q1(     "SELECT max(abs(a - b)) FROM item_codes c JOIN sample s USING (id), "
		  . "unnest(autoencoder.decode('emb_ae', c.code::real[]), autoencoder.reconstruct('emb_ae', s.emb)) u(a, b)"),
	'<', 1e-3, 'a halfvec code decodes to the reconstruction, to rounding');

# the vector assignment cast: encode_table into a vector(32) column of the
# source itself: encode_query's codes bit for bit
q1("ALTER TABLE items ADD COLUMN code vector($LATENT), ADD COLUMN code_version integer");
($rc, $out, $err) = $node->psql('postgres', "CALL autoencoder.encode_table('emb_ae', 'items', 'emb')");
is($rc, 0, 'encode_table into a vector(32) column of the source table') or diag($err);
is(q1('SELECT count(*) FILTER (WHERE i.code::real[] = r.code AND i.code_version = 1) FROM items i JOIN ref1 r USING (id)'),
	$N, '... every row has encode_query\'s code bit for bit, and the version');
q1('ALTER TABLE items DROP COLUMN code, DROP COLUMN code_version; VACUUM items');

# ------------------------------------------------------------------ HNSW and recall
sub recall_sql
{
	my ($version, $table) = @_;
	$table //= 'item_codes';
	return <<"EOS";
SELECT round(count(t.id)::numeric / ($K * (SELECT count(*) FROM queries)), 4)
FROM queries q
CROSS JOIN LATERAL (SELECT c.id FROM $table c
                    ORDER BY c.code <=> autoencoder.encode('emb_ae', q.emb, $version)::halfvec($LATENT)
                    LIMIT $K) n
LEFT JOIN truth t ON t.qid = q.id AND t.id = n.id
EOS
}

# recall of exact search on the codes (index scans off) and of HNSW search,
# with the plans checked: returns (exact, hnsw)
sub recalls
{
	my ($version, $what) = @_;
	my $noidx = "SET enable_indexscan = off;\n";
	my $plan = q1($noidx . 'EXPLAIN (COSTS OFF) ' . recall_sql($version));
	unlike($plan, qr/Index Scan using item_codes_hnsw/, "$what: exact search on the codes scans them all")
	  or diag($plan);
	my $exact = q1($noidx . recall_sql($version));
	$plan = q1('EXPLAIN (COSTS OFF) ' . recall_sql($version));
	like($plan, qr/Index Scan using item_codes_hnsw on item_codes/, "$what: the LATERAL k-NN query uses the HNSW index")
	  or diag($plan);
	my $hnsw = q1(recall_sql($version));
	note("$what: recall\@$K exact on codes $exact, HNSW $hnsw");
	return ($exact, $hnsw);
}

$t = time;
q1("CREATE INDEX item_codes_hnsw ON item_codes USING hnsw (code halfvec_cosine_ops); ANALYZE item_codes");
note(sprintf('HNSW index built in %.2f s', time - $t));
# the README's k-NN query: one query embedding, an InitPlan
my $knn = "SELECT id FROM item_codes ORDER BY code <=> "
  . "autoencoder.encode('emb_ae', (SELECT emb FROM queries WHERE id = $N + 1))::halfvec($LATENT) LIMIT $K";
my $plan = q1("EXPLAIN (COSTS OFF) $knn");
like($plan, qr/Index Scan using item_codes_hnsw on item_codes/, 'the k-NN query on the codes uses the HNSW index')
  or diag($plan);
is(q1("SELECT count(*) FROM ($knn) k JOIN truth t ON t.qid = $N + 1 AND t.id = k.id") >= 5,
	1, 'the first query finds at least 5 of its 10 true neighbours');

my ($exact1, $hnsw1) = recalls(1, 'version 1 (PCA)');
cmp_ok($exact1, '>=', $PCA_EXACT_MIN, "PCA codes: exact search recall\@$K $exact1 >= $PCA_EXACT_MIN");
cmp_ok($hnsw1, '>=', $HNSW_RATIO_MIN * $exact1,
	"PCA codes: HNSW recall\@$K $hnsw1 >= $HNSW_RATIO_MIN x exact ($exact1)");

# ------------------------------------------------------------------ a new deployment
# version 2: a nonlinear autoencoder trained by gradient descent (tanh
# code, explicit epochs); encode_table re-encodes exactly the rows of
# version 1, in place; a VACUUM then clears the old codes from the index.
$t = time;
q1(     ae_setup_sql()
	  . "SELECT autoencoder.train('emb_ae', 'SELECT emb::real[] FROM items ORDER BY id', "
	  . "latent_dim => $LATENT, hidden_units => '{}', activation => 'tanh', scaling => 'none', epochs => 100, patience => 0, "
	  . "batch_size => 32, learning_rate => 0.003, seed => 7)");
note(sprintf('version 2 (tanh, 100 epochs) trained in %.2f s', time - $t));
is(q1("SELECT autoencoder.deployed_version('emb_ae')"), '2', 'version 2 deployed');
my $stale = q1(recall_sql(2));
note("version 2 query codes against version 1 stored codes: recall\@$K $stale");
$t = time;
($rc, $out, $err) = $node->psql('postgres',
	"SET client_min_messages = notice; CALL autoencoder.encode_table('emb_ae', 'items', 'emb', target => 'item_codes', batch_size => 1000)"
);
is($rc, 0, 'encode_table after the deployment') or diag($err);
note(sprintf('re-encoded %d rows in %.2f s', $N, time - $t));
like($err, qr/encoding $N rows of items with model "emb_ae" version 2 \(0 without a code, $N with codes of other versions\)/,
	'... re-encodes the rows of version 1, all of them');
q1('VACUUM ANALYZE item_codes');
q1("CREATE TABLE ref2 AS SELECT * FROM autoencoder.encode_query('emb_ae', 'SELECT id, emb::real[] FROM items', 2)");
is( q1(
		"SELECT count(*) FILTER (WHERE c.code_version = 2 AND (SELECT bool_and(abs(h - f) <= abs(f) * ($HALF_REL + 1e-6) + 6e-8) "
		  . "FROM unnest(c.code::real[], r.code) u(h, f))) FROM item_codes c JOIN ref2 r USING (id)"),
	$N,
	'every item has its version 2 code (encode_query\'s, to halfvec rounding)');
my ($exact2, $hnsw2) = recalls(2, 'version 2 (tanh)');
cmp_ok($exact2, '>=', $SGD_EXACT_MIN, "tanh codes: exact search recall\@$K $exact2 >= $SGD_EXACT_MIN");
cmp_ok($hnsw2, '>=', $HNSW_RATIO_MIN * $exact2,
	"tanh codes: HNSW recall\@$K $hnsw2 >= $HNSW_RATIO_MIN x exact ($exact2)");

note(sprintf('008_pgvector.pl: %.1f s', time - $t0));
$node->stop;
done_testing();
