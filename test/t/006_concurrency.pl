# Concurrent train() of one name (issue 9, points 8 and 10):
#   - REPEATABLE READ: the second of two concurrent trainings of a name ends
#     with the retryable SQLSTATE 40001 and stores nothing, or waits and
#     succeeds with the next version; never 23505 (unique violation);
#   - READ COMMITTED: both succeed, with versions 1 and 2;
#   - a role with only USAGE on the schema and SELECT on its tables cannot
#     hold up the owner: its pg_advisory_lock(hashtext('autoencoder.models:m'))
#     (the lock of old) blocks nothing, it cannot take the name's row lock,
#     and the owner's train, deploy and rollback go through while it holds
#     every lock it can get.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use AeTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = ae_new_node('concurrency');
$node->safe_psql('postgres', 'CREATE EXTENSION autoencoder;' . ae_make_data('t', 2000, 16));

# A psql session in the background that keeps going after an error and
# prints the SQLSTATE of every error.
sub session
{
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	$s->query_safe("\\set VERBOSITY verbose\nSET client_min_messages = warning");
	return $s;
}

# Run sql in session s; returns (stdout, stderr) and clears both.
sub run
{
	my ($s, $sql) = @_;
	my ($out) = $s->query($sql);
	my $err = $s->{stderr};
	$s->{stderr} = '';
	return ($out, $err);
}

# Start sql in s without waiting for it to finish.
sub start
{
	my ($s, $sql) = @_;
	$s->query_until(qr/started\n/, "\\echo started\n$sql;\n");
}

# Wait until a backend other than ours waits for a lock while running a query like pattern.
sub wait_for_lock_wait
{
	my ($pattern) = @_;
	return $node->poll_query_until('postgres',
		    "SELECT count(*) > 0 FROM pg_stat_activity "
		  . "WHERE wait_event_type = 'Lock' AND query LIKE '$pattern'");
}

sub versions
{
	my ($name) = @_;
	return $node->safe_psql('postgres',
		"SELECT string_agg(version::text, ',' ORDER BY version) FROM autoencoder.models WHERE name = '$name'");
}

# ---- REPEATABLE READ, a new name and a name with a version
for my $case ([ 'rr_new', 0 ], [ 'rr_old', 1 ])
{
	my ($name, $existing) = @$case;
	$node->safe_psql('postgres', ae_setup_sql() . ae_train_sql($name, 'seed => 1')) if $existing;
	my $s1 = session();
	my $s2 = session();
	my (undef, $e1) = run($s1,
		'BEGIN ISOLATION LEVEL REPEATABLE READ; ' . ae_train_sql($name, 'seed => 2') . ' IS NOT NULL');
	is($e1, '', "$name: the first training in REPEATABLE READ succeeds, not yet committed");
	# the second transaction's snapshot predates the first one's commit
	run($s2, 'BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM autoencoder.models');
	start($s2, ae_train_sql($name, 'seed => 3') . ' IS NOT NULL');
	ok(wait_for_lock_wait('%autoencoder.train%'),
		"$name: the second training waits for the name's lock held by the first");
	my (undef, $ec) = run($s1, 'COMMIT');
	is($ec, '', "$name: the first training commits");
	my ($out2, $e2) = run($s2, 'SELECT 1');
	unlike($e2, qr/23505/, "$name: the second training does not end in a unique violation (23505)");
	my $expect_first = $existing ? '1,2' : '1';
	if ($e2 ne '')
	{
		like($e2, qr/ERROR:\s+40001/, "$name: the second training ends with SQLSTATE 40001 (retryable)")
		  or diag($e2);
		run($s2, 'ROLLBACK');
		is(versions($name), $expect_first, "$name: the second training stored nothing");
		# and a retry succeeds
		my (undef, $er) = run($s2, ae_train_sql($name, 'seed => 3') . ' IS NOT NULL');
		is($er, '', "$name: the retried training succeeds");
		is(versions($name), $existing ? '1,2,3' : '1,2', "$name: the retry stored the next version");
	}
	else
	{
		pass("$name: the second training waited and succeeded");
		run($s2, 'COMMIT');
		is(versions($name), $existing ? '1,2,3' : '1,2', "$name: both versions stored, numbered in order");
	}
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM autoencoder.models WHERE name = '$name' AND deployed"),
		'1', "$name: exactly one version deployed");
	$s1->quit;
	$s2->quit;
}

# ---- READ COMMITTED: both succeed, versions 1 and 2
{
	my $s1 = session();
	my $s2 = session();
	my (undef, $e1) = run($s1, 'BEGIN; ' . ae_train_sql('rc', 'seed => 1') . ' IS NOT NULL');
	is($e1, '', 'rc: the first training succeeds, not yet committed');
	start($s2, ae_train_sql('rc', 'seed => 2') . ' IS NOT NULL');
	ok(wait_for_lock_wait('%autoencoder.train%'), 'rc: the second training waits for the lock');
	run($s1, 'COMMIT');
	my ($o2, $e2) = run($s2, 'SELECT 1');
	is($e2, '', 'rc: the second training succeeds after the first commits');
	is(versions('rc'), '1,2', 'rc: versions 1 and 2 stored');
	is($node->safe_psql('postgres', "SELECT version FROM autoencoder.models WHERE name = 'rc' AND deployed"),
		'2', 'rc: version 2 (the later commit) is deployed');
	$s1->quit;
	$s2->quit;
}

# ---- a reader cannot block the owner
$node->safe_psql(
	'postgres', <<'EOS');
CREATE ROLE mallory LOGIN;
GRANT USAGE ON SCHEMA autoencoder TO mallory;
GRANT SELECT ON ALL TABLES IN SCHEMA autoencoder TO mallory;
GRANT SELECT ON t TO mallory;
EOS
$node->safe_psql('postgres', ae_setup_sql() . ae_train_sql('m', 'seed => 1'));
my $mallory = $node->background_psql('postgres', on_error_stop => 0,
	extra_params => [ '-U', 'mallory' ]);
$mallory->query_safe("\\set VERBOSITY verbose\nSET client_min_messages = warning");
my ($who) = run($mallory, 'SELECT current_user');
is($who, 'mallory', 'mallory is connected');
my ($lk, $lke) = run($mallory, "SELECT pg_advisory_lock(hashtext('autoencoder.models:m'))");
is($lke, '', "mallory holds pg_advisory_lock(hashtext('autoencoder.models:m'))");
run($mallory, "SELECT pg_advisory_lock(hashtext('m'))");
# every lock on the name mallory might try, in one open transaction
run($mallory, 'BEGIN');
my (undef, $e_row) = run($mallory,
	"SELECT * FROM autoencoder.model_names WHERE name = 'm' FOR UPDATE");
like($e_row, qr/ERROR:\s+42501/, "mallory cannot lock the name's row (42501)");
run($mallory, 'ROLLBACK');
my (undef, $e_fn) = run($mallory, "SELECT autoencoder.lock_model('m')");
like($e_fn, qr/ERROR:\s+42501/, 'mallory cannot call lock_model (42501)');
my (undef, $e_share) = run($mallory,
	"BEGIN; SELECT * FROM autoencoder.model_names WHERE name = 'm' FOR KEY SHARE");
like($e_share, qr/ERROR:\s+42501/, "mallory cannot take a share lock on the name's row either (42501)");
run($mallory, 'ROLLBACK');
# what mallory can hold: an open transaction that read the tables
my (undef, $e_read) = run($mallory,
	    'BEGIN ISOLATION LEVEL REPEATABLE READ; '
	  . 'SELECT count(*) FROM autoencoder.models; SELECT count(*) FROM autoencoder.model_names; '
	  . 'LOCK TABLE autoencoder.models, autoencoder.model_names IN ACCESS SHARE MODE');
is($e_read, '', 'mallory holds a transaction that read and ACCESS SHARE locked the tables');

my $t0 = time;
my ($ok, $out, $err) = (0, '', '');
$ok = $node->psql(
	'postgres',
	"SET statement_timeout = '20s';" . ae_setup_sql()
	  . ae_train_sql('m', 'seed => 2') . ';'
	  . "SELECT autoencoder.deploy('m', 1);"
	  . "SELECT autoencoder.rollback('m');"
	  . "SELECT autoencoder.drop_model('m', 1);",
	stdout => \$out,
	stderr => \$err);
my $secs = time - $t0;
is($ok, 0, "the owner's train, deploy, rollback and drop_model of m succeed while mallory holds her locks")
  or diag($err);
cmp_ok($secs, '<', 15, sprintf('... without waiting (%.1f s)', $secs));
is(versions('m'), '2', 'm: version 1 dropped, version 2 kept');
run($mallory, 'COMMIT');
$mallory->quit;

$node->stop;
done_testing();
