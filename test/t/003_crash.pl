# A training backend killed with SIGKILL: the server goes through crash
# recovery, no partial version exists, the deployed version serves the same
# bits as before, and the next training numbers its version correctly.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use AeTest;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $node = ae_new_node('crash', conf => "restart_after_crash = on\n");
$node->safe_psql('postgres',
	'CREATE EXTENSION autoencoder;' . ae_make_data('t', 2000, 16) . ae_make_data('big', 20000, 64));

# Two versions, the first one deployed (so "deployed" is not just "latest").
$node->safe_psql('postgres', ae_train_sql('m', 'seed => 1'));
$node->safe_psql('postgres', ae_train_sql('m', 'seed => 2'));
$node->safe_psql('postgres', "SELECT autoencoder.deploy('m', 1)");
# A model on the big table as well, deployed, to be warm-started from.
$node->safe_psql('postgres',
	"SELECT autoencoder.train('big_ae', 'SELECT x FROM big', latent_dim => 8, hidden_units => '{32}', epochs => 1)"
);

my $snapshot_sql =
  "SELECT id, name, version, deployed, config, metrics, md5(model::text) FROM autoencoder.models ORDER BY id";
my $before_rows = $node->safe_psql('postgres', $snapshot_sql);
my $before_deployments =
  $node->safe_psql('postgres', 'SELECT * FROM autoencoder.deployments ORDER BY id');
my $before_md5 = ae_encode_md5($node, 'postgres', 'm');
my $before_big = ae_encode_md5($node, 'postgres', 'big_ae', 'big');
is(ae_encode_md5_version($node, 'postgres', 'm', 1), $before_md5, 'm: version 1 is deployed');

# Starts psql in the background on <sql>; returns (harness, \stdout, \stderr).
sub start_psql
{
	my ($sql) = @_;
	my ($in, $out, $err) = ('', '', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
		'<', \$in, '>', \$out, '2>', \$err, IPC::Run::timeout(180));
	$in .= $sql;
	return ($h, \$in, \$out, \$err);
}

# Pumps <h> until <$$err> matches <re> or <secs> pass; returns whether it matched.
sub wait_stderr
{
	my ($h, $err, $re, $secs) = @_;
	my $deadline = time + $secs;
	while ($$err !~ $re && time < $deadline)
	{
		$h->pump_nb;
		usleep(50_000);
	}
	return $$err =~ $re;
}

# SIGKILLs backend <pid>, waits for the server to be back; checks the log.
sub crash_and_recover
{
	my ($pid, $what) = @_;
	my $log_offset = -s $node->logfile;
	ok(kill('KILL', $pid), "$what: SIGKILL sent to backend $pid");
	$node->wait_for_log(qr/server process \(PID $pid\) was terminated by signal 9/, $log_offset);
	ok($node->poll_query_until('postgres', 'SELECT true'), "$what: server accepts queries again");
	ok($node->log_contains(qr/all server processes terminated; reinitializing/, $log_offset),
		"$what: the postmaster reinitialized (crash recovery)");
}

sub check_intact
{
	my ($what) = @_;
	is($node->safe_psql('postgres', $snapshot_sql), $before_rows,
		"$what: autoencoder.models unchanged (no partial or extra version)");
	is($node->safe_psql('postgres', 'SELECT * FROM autoencoder.deployments ORDER BY id'),
		$before_deployments, "$what: deployment log unchanged");
	is(ae_encode_md5($node, 'postgres', 'm'), $before_md5,
		"$what: the deployed version of m serves the same bits as before the crash");
	is(ae_encode_md5($node, 'postgres', 'big_ae', 'big'), $before_big,
		"$what: big_ae serves the same bits as before the crash");
}

# ---- 1. killed mid-training: a long warm-started training on 20000 x 64
{
	my ($h, $in, $out, $err) = start_psql(
		"SET client_min_messages = notice;\n"
		  . "SET statement_timeout = '150s';\n"
		  . "SELECT autoencoder.train('big_ae', 'SELECT x FROM big', latent_dim => 8, "
		  . "hidden_units => '{32}', epochs => 100000, patience => 0, warm_start => true, "
		  . "deploy => 'always');\n");
	ok(wait_stderr($h, $err, qr/epoch 3\/100000/, 90), 'long training reached epoch 3')
	  or diag("psql stderr: $$err");

	my $pid = $node->safe_psql('postgres',
		    "SELECT pid FROM pg_stat_activity WHERE query LIKE '%autoencoder.train(%' "
		  . "AND state = 'active' AND pid <> pg_backend_pid()");
	like($pid, qr/^\d+$/, 'found the training backend in pg_stat_activity');

	# Really training: still active 2 s later, and more epochs went by.
	my $epochs_seen = () = $$err =~ /epoch \d+\/100000/g;
	wait_stderr($h, $err, qr/(?!)/, 2);
	is($node->safe_psql('postgres', "SELECT state FROM pg_stat_activity WHERE pid = $pid"),
		'active', 'the training backend is still active 2 s later');
	my $epochs_now = () = $$err =~ /epoch \d+\/100000/g;
	cmp_ok($epochs_now, '>', $epochs_seen, "training progresses ($epochs_seen -> $epochs_now epochs)");
	unlike($$err, qr/trained model/, 'training has not finished');

	crash_and_recover($pid, 'mid-training');
	# psql exits by itself when its connection is lost; finish closes stdin.
	eval { $h->finish; 1 } or diag("finish: $@");
	isnt($h->result(0), 0, 'the training client exited with an error: ' . ($h->result(0) // 'none'));
	like($$err, qr/server closed the connection unexpectedly|connection to server was lost/,
		'the training client saw its connection die');
	check_intact('mid-training');
}

# ---- 2. killed after train() returned but before the transaction committed
{
	my ($h, $in, $out, $err) = start_psql(
		"BEGIN;\n"
		  . ae_train_sql('m', 'seed => 3') . ";\n"
		  . "\\echo trained\n"
		  . "SELECT pg_sleep(150);\n");
	ok(wait_stderr($h, $out, qr/trained/, 60), 'train() returned inside an open transaction');
	my $pid_sql = "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(150)%' "
	  . "AND state = 'active' AND pid <> pg_backend_pid()";
	$node->poll_query_until('postgres', "SELECT EXISTS ($pid_sql)");
	my $pid = $node->safe_psql('postgres', $pid_sql);
	like($pid, qr/^\d+$/, 'found the uncommitted training backend');
	crash_and_recover($pid, 'uncommitted train');
	eval { $h->finish; 1 } or diag("finish: $@");
	check_intact('uncommitted train');
}

# ---- 3. life goes on: the next training takes the next version number
my $id = $node->safe_psql('postgres', ae_train_sql('m', 'seed => 4'));
is($node->safe_psql('postgres', "SELECT version || ':' || deployed FROM autoencoder.models WHERE id = $id"),
	'3:true', 'after the crashes, the next training of m is version 3, deployed');
is($node->safe_psql('postgres', "SELECT count(*) FROM autoencoder.models WHERE name = 'm' AND deployed"),
	'1', 'exactly one version of m deployed');
is($node->safe_psql('postgres', "SELECT autoencoder.rollback('m')"), '1', 'rollback(m) goes back to version 1');
is(ae_encode_md5($node, 'postgres', 'm'), $before_md5, 'and serves version 1 bit for bit');

$node->stop;
done_testing();
