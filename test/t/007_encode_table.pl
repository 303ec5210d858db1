# encode_table() interrupted: cancelled with pg_cancel_backend and killed
# with SIGKILL mid-run, in target-table and same-table mode, on 20,000 rows
# (1% of them with a NULL input).  Each time: the batches committed before
# the interruption (after the crash: at least every batch reported done in
# a progress NOTICE) are a prefix of the table in key order, every row
# written carries the code of its version, no key is written
# twice, and the next call encodes exactly the rows left, touching no other.
# Then a new version is deployed and a rerun re-encodes exactly the rows of
# the old version.
#
# The reference codes are encode_query(name, source, version) over the
# whole table: encode_table writes through encode_query's block path.  A
# row's code can still differ from the reference's in the last bits: the
# sgemm of some CPUs (OpenBLAS's Haswell and Zen kernels work on tiles of 12
# rows) rounds a row differently at another place in its block, and a batch
# starts its blocks elsewhere.  So codes are compared with the reference to
# 1e-5 relative, which tells the versions apart, and with the per-row
# encode(get_model(name, version), x) (a matrix-vector product) to 1e-5.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use AeTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $rows = 20000;
my $batch = 500;
my $node = ae_new_node('encode_table', conf => "restart_after_crash = on\n");

# t: 20,000 rows of 16 features, every 97th input NULL; codes: the target.
# A statement trigger on each sleeps 40 ms per batch statement while
# enabled, so that an interruption lands mid-run.
$node->safe_psql('postgres', <<"EOS");
CREATE EXTENSION autoencoder;
CREATE TABLE t (id int PRIMARY KEY, x real[], code real[], code_version integer);
INSERT INTO t (id, x)
SELECT i, CASE WHEN i % 97 <> 0 THEN
          ARRAY(SELECT (sin(i * 0.37 + j * 1.31) + 0.5 * cos(i * 0.013 * j + j))::real
                FROM generate_series(1, 16) AS j) END
FROM generate_series(1, $rows) AS i;
CREATE TABLE codes (id bigint PRIMARY KEY, code real[], code_version integer);
CREATE FUNCTION pace() RETURNS trigger LANGUAGE plpgsql AS
  \$\$ BEGIN PERFORM pg_sleep(0.04); RETURN NULL; END \$\$;
CREATE TRIGGER pace AFTER INSERT OR UPDATE ON codes FOR EACH STATEMENT EXECUTE FUNCTION pace();
CREATE TRIGGER pace AFTER UPDATE ON t FOR EACH STATEMENT EXECUTE FUNCTION pace();
ALTER TABLE codes DISABLE TRIGGER pace;
ALTER TABLE t DISABLE TRIGGER pace;
VACUUM ANALYZE t;
EOS
$node->safe_psql('postgres', ae_setup_sql() . ae_train_sql('m', 'seed => 1'));
is($node->safe_psql('postgres', "SELECT autoencoder.deployed_version('m')"), '1', 'version 1 deployed');

# ref: every row's code under each version, from encode_query's block path
sub make_ref
{
	my ($version) = @_;
	$node->safe_psql('postgres',
		    "INSERT INTO ref SELECT $version, id, code "
		  . "FROM autoencoder.encode_query('m', 'SELECT id, x FROM t', $version)");
}
$node->safe_psql('postgres', 'CREATE TABLE ref (version integer, id bigint, code real[], PRIMARY KEY (version, id))');
make_ref(1);

# The state of the written codes, as "written|prefix|right|close|nulls|dups":
# rows with a version; whether they are ids 1..written (a key-order
# prefix); rows whose code is ref's for their version to 1e-5 relative (a
# NULL input: a NULL code); rows within 1e-5 of encode(get_model(m, version), x)
# (or NULL for a NULL input); NULL inputs written; keys written twice.
sub state_of
{
	my ($mode) = @_;
	my $from =
	  $mode eq 'target'
	  ? '(SELECT c.id, t.x, c.code, c.code_version FROM codes c JOIN t USING (id)) c'
	  : '(SELECT id, x, code, code_version FROM t WHERE code_version IS NOT NULL) c';
	return $node->safe_psql('postgres', <<"EOS");
SELECT count(*) || '|' || (coalesce(max(c.id), 0) = count(*)) || '|'
       || count(*) FILTER (WHERE c.code IS NOT DISTINCT FROM r.code
                           OR (SELECT bool_and(abs(a - b) <= 1e-5 * greatest(1, abs(b)))
                               FROM unnest(c.code, r.code) u(a, b))) || '|'
       || count(*) FILTER (WHERE (c.x IS NULL AND c.code IS NULL)
                           OR (SELECT max(abs(a - b)) < 1e-5
                               FROM unnest(c.code, autoencoder.encode(g.m, c.x)) u(a, b))) || '|'
       || count(*) FILTER (WHERE c.x IS NULL) || '|'
       || (count(*) - count(DISTINCT c.id))
FROM $from
LEFT JOIN ref r ON r.id = c.id AND r.version = c.code_version
LEFT JOIN (SELECT version AS v, autoencoder.get_model('m', version) AS m FROM autoencoder.models WHERE name = 'm') g
       ON g.v = c.code_version
EOS
}

# The CALL for a mode.
sub call_sql
{
	my ($mode) = @_;
	my $target = $mode eq 'target' ? ", target => 'codes'" : '';
	return "CALL autoencoder.encode_table('m', 't', 'x'$target, batch_size => $batch)";
}

# The number of rows written so far with version v (other sessions see
# the committed batches).
sub written
{
	my ($mode, $v) = @_;
	return $node->safe_psql('postgres',
		'SELECT count(*) FROM ' . ($mode eq 'target' ? 'codes' : 't') . " WHERE code_version = $v");
}

# Starts encode_table in a background session with the pacing trigger on;
# returns (session, backend pid) once at least $batches batches (default 3)
# of version $v (default 1) have committed and, with $reports, once the
# session has received that many progress NOTICEs.
sub start_paced
{
	my ($mode, $v, $batches, $reports) = @_;
	$node->safe_psql('postgres',
		'ALTER TABLE ' . ($mode eq 'target' ? 'codes' : 't') . ' ENABLE TRIGGER pace');
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	chomp $pid;
	$bg->query_safe('SET client_min_messages = notice');
	$bg->query_until(qr/started/, "\\echo started\n" . call_sql($mode) . ";\n");
	my $deadline = time + 60;
	while (time < $deadline)
	{
		$bg->{run}->pump_nb;
		last if written($mode, $v // 1) >= ($batches // 3) * $batch
		  && reported($bg) >= ($reports // 0) * $batch;
		usleep(20_000);
	}
	return ($bg, $pid);
}

# The rows the last progress NOTICE a background session received reports
# done (0 before the first).
sub reported
{
	my ($bg) = @_;
	my @done = $bg->{stderr} =~ /t: (\d+) of $rows rows encoded/g;
	return @done ? $done[-1] : 0;
}

sub stop_pacing
{
	my ($mode) = @_;
	$node->safe_psql('postgres',
		'ALTER TABLE ' . ($mode eq 'target' ? 'codes' : 't') . ' DISABLE TRIGGER pace');
}

# Runs encode_table to completion in the foreground; returns its NOTICEs.
sub run_to_end
{
	my ($mode, $extra) = @_;
	my ($ret, $out, $err) =
	  $node->psql('postgres', "SET client_min_messages = notice;\n" . call_sql($mode) . ($extra // '') . ';');
	is($ret, 0, "$mode: encode_table ran to the end") or diag($err);
	return $err;
}

# Checks the state after an interruption and resumes; returns nothing.
sub check_and_resume
{
	my ($mode, $what) = @_;
	my ($n, $prefix, $right, $close, $nulls, $dups) = split /\|/, state_of($mode);
	note "$mode, $what: $n rows written";
	cmp_ok($n, '>', 0, "$mode, $what: batches were committed before ($n rows)");
	cmp_ok($n, '<', $rows, "$mode, $what: the run was interrupted before the end");
	is(($n - $nulls) % $batch, 0,
		"$mode, $what: whole batches only (" . ($n - $nulls) . " rows with an input, batches of $batch)");
	is($prefix, 'true', "$mode, $what: the rows written are the first in key order");
	is($right, $n, "$mode, $what: every row written has its version's code (the reference's, to 1e-5)");
	is($close, $n, "$mode, $what: and encode()'s code to float rounding");
	is($nulls, int($n / 97), "$mode, $what: the NULL inputs among them are written too");
	is($dups, 0, "$mode, $what: no key written twice");

	# resume: exactly the rows left, and none of the rows written is touched
	snapshot($mode);
	my $log = run_to_end($mode);
	my $left = $rows - $n;
	like($log, qr/encoding $left rows of t with model "m" version 1 \($left without a code, 0 with codes of other versions\)/,
		"$mode, $what: the resumed run encodes the $left rows left");
	like($log, qr/encoded $left rows of t/, "$mode, $what: and reports them done");
	is(rewritten($mode), "$left|0", "$mode, $what: it writes $left rows, none of those written before");
	($n, $prefix, $right, $close, $nulls, $dups) = split /\|/, state_of($mode);
	is("$n|$right|$close|$nulls|$dups", "$rows|$rows|$rows|" . int($rows / 97) . '|0',
		"$mode, $what: after resuming, every row has its code, none twice");
	like(run_to_end($mode), qr/nothing to encode/, "$mode, $what: a further call has nothing to do");
}

# snap: the xmin of every row written so far; rewritten(): rows written
# since, and how many of them had been written before, as "written|again"
sub snapshot
{
	my ($mode) = @_;
	$node->safe_psql('postgres',
		'DROP TABLE IF EXISTS snap; CREATE TABLE snap AS SELECT id, xmin::text AS xm FROM '
		  . ($mode eq 'target' ? 'codes' : 't WHERE code_version IS NOT NULL'));
}

sub rewritten
{
	my ($mode) = @_;
	return $node->safe_psql('postgres',
		    'SELECT count(*) || \'|\' || count(s.id) FROM '
		  . ($mode eq 'target' ? 'codes c' : 't c')
		  . ' LEFT JOIN snap s USING (id) WHERE c.xmin::text IS DISTINCT FROM s.xm');
}

for my $mode ('target', 'same')
{
	# ---- cancel
	my ($bg, $pid) = start_paced($mode);
	is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't', "$mode: cancel sent to $pid");
	$bg->query('SELECT 1');
	like($bg->{stderr}, qr/canceling statement due to user request/, "$mode: the run was cancelled");
	my $reported = reported($bg);
	$bg->quit;
	cmp_ok(written($mode, 1), '>=', $reported,
		"$mode: every batch reported done before the cancel is committed ($reported rows reported)");
	stop_pacing($mode);
	check_and_resume($mode, 'cancelled');

	# start over for the SIGKILL
	$node->safe_psql('postgres',
		$mode eq 'target' ? 'TRUNCATE codes' : 'UPDATE t SET code = NULL, code_version = NULL');

	# ---- SIGKILL: the postmaster reinitialises; committed batches survive
	# Batches commit without waiting for their WAL flush, and each is
	# reported once flushed: every batch reported done survives the crash;
	# batches committed but not yet reported may be gone, and are redone.
	($bg, $pid) = start_paced($mode, 1, 7, 3);
	my $seen = written($mode, 1);
	my $log_offset = -s $node->logfile;
	ok(kill('KILL', $pid), "$mode: SIGKILL sent to backend $pid");
	$bg->{run}->pump_nb;
	$reported = reported($bg);
	$node->wait_for_log(qr/server process \(PID $pid\) was terminated by signal 9/, $log_offset);
	ok($node->poll_query_until('postgres', 'SELECT true'), "$mode: the server accepts queries again");
	ok($node->log_contains(qr/all server processes terminated; reinitializing/, $log_offset),
		"$mode: the postmaster reinitialised (crash recovery)");
	eval { $bg->quit; 1 } or note("quit after the kill: $@");
	stop_pacing($mode);
	my $kept = written($mode, 1);
	note "$mode: $seen rows committed and $reported reported done at the kill; $kept kept";
	cmp_ok($reported, '>=', 3 * $batch, "$mode, killed: batches were reported done before the kill ($reported rows)");
	cmp_ok($kept, '>=', $reported, "$mode, killed: every batch reported done survives the crash ($kept rows kept)");
	check_and_resume($mode, 'killed');
}

# ---- a new deployment: version 2.  A run of it is cancelled after a few
# batches; the rerun re-encodes exactly the rows still at version 1.
$node->safe_psql('postgres', ae_setup_sql() . ae_train_sql('m', 'seed => 2'));
is($node->safe_psql('postgres', "SELECT autoencoder.deployed_version('m')"), '2', 'version 2 deployed');
make_ref(2);
my ($bg, $pid) = start_paced('target', 2);
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
$bg->query('SELECT 1');
$bg->quit;
stop_pacing('target');
my $v2 = $node->safe_psql('postgres', 'SELECT count(*) FROM codes WHERE code_version = 2');
cmp_ok($v2, '>', 0, "version 2: the cancelled run re-encoded $v2 rows");
cmp_ok($v2, '<', $rows, 'version 2: and not all of them');
my $v1 = $rows - $v2;
$node->safe_psql('postgres', 'DROP TABLE IF EXISTS snap; CREATE TABLE snap AS SELECT id, xmin::text AS xm FROM codes WHERE code_version = 2');
my $log = run_to_end('target');
like($log, qr/encoding $v1 rows of t with model "m" version 2 \(0 without a code, $v1 with codes of other versions\)/,
	"version 2: the rerun takes exactly the $v1 rows of version 1");
is(rewritten('target'), "$v1|0", "version 2: it writes those $v1 rows, none of version 2");
my ($n, $prefix, $right, $close, $nulls, $dups) = split /\|/, state_of('target');
is("$n|$right|$close|$dups", "$rows|$rows|$rows|0", 'version 2: every row has its version-2 code, none twice');
is($node->safe_psql('postgres', 'SELECT count(*) FROM codes WHERE code_version <> 2'), '0', 'version 2: no row of version 1 left');
like(run_to_end('target'), qr/nothing to encode/, 'version 2: a rerun has nothing to do');

# ---- deployed_version() is the same for every row of a statement: one
# that runs for about 2 s while another session deploys version 1
my $bgd = $node->background_psql('postgres');
$bgd->query_until(qr/started/,
	    "\\echo started\n"
	  . "SELECT count(DISTINCT v) || ':' || min(v) FROM (SELECT autoencoder.deployed_version('m') AS v "
	  . "FROM generate_series(1, 1000) g, LATERAL (SELECT pg_sleep(0.002)) s) d;\n");
usleep(300_000);
$node->safe_psql('postgres', "SELECT autoencoder.deploy('m', 1)");
my ($out) = $bgd->query("SELECT 'next:' || autoencoder.deployed_version('m')");
$bgd->quit;
like($out, qr/^1:2\n/, 'deployed_version: version 2 for every row of the statement that started before the deployment');
like($out, qr/next:1$/, 'deployed_version: version 1 from the next statement on');

$node->stop;
done_testing();
