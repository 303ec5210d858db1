# Scheduled retraining with pg_cron (the README recipe): a job warm-starts,
# deploys if better and keeps the last 3 versions, while pgbench clients keep
# calling encode on the model without a single failed transaction.
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

my $pg_cron_so = `pg_config --pkglibdir 2>/dev/null`;
chomp $pg_cron_so;
ok(-e "$pg_cron_so/pg_cron.so", "pg_cron is installed ($pg_cron_so/pg_cron.so; Debian: postgresql-15-cron)")
  or do { diag('pg_cron is not installed: apt-get install postgresql-15-cron'); done_testing(); exit 1; };

my $node = ae_new_node(
	'cron', conf => <<'EOC');
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 20
EOC

$node->safe_psql('postgres',
	'CREATE EXTENSION pg_cron; CREATE EXTENSION autoencoder;' . ae_make_data('t', 2000, 16));

# Version 1: a deliberately short training (1 epoch), deployed; versions 2..5
# trained but not deployed, so that the "keep the last 3" step has work to do.
# (residual => false: a residual network starts at PCA, which on these rows
# one epoch already leaves little to improve on, so a warm-started retrain
# would keep its epoch 0, the deployed weights, and not be deployed.)
my $base = "'m', 'SELECT x FROM t', latent_dim => 4, hidden_units => '{8}', batch_size => 64, "
  . "residual => false";
$node->safe_psql('postgres', "SELECT autoencoder.train($base, epochs => 1, seed => 1)");
for my $seed (2 .. 5)
{
	$node->safe_psql('postgres',
		"SELECT autoencoder.train($base, epochs => 1, seed => $seed, deploy => 'never')");
}
is( $node->safe_psql('postgres',
		"SELECT string_agg(version || ':' || deployed, ',' ORDER BY version) FROM autoencoder.models WHERE name = 'm'"),
	'1:true,2:false,3:false,4:false,5:false',
	"five versions, only version 1 deployed (deploy => 'never' does not deploy)");
my $v1_md5 = ae_encode_md5($node, 'postgres', 'm');

# A session that keeps version 1 cached across the retraining.
my $warm = $node->background_psql('postgres');
my $md5_sql = "SELECT md5(string_agg(autoencoder.encode('m', x)::text, ';' ORDER BY id)) FROM t";
is($warm->query_safe($md5_sql), $v1_md5, 'warm session serves version 1');

# ---- pgbench calling encode during the whole wait
my $script = PostgreSQL::Test::Utils::tempdir . '/encode.sql';
open(my $fh, '>', $script) or die "$script: $!";
print $fh "\\set id random(1, 1000)\nSELECT autoencoder.encode('m', x) FROM t WHERE id = :id;\n";
close $fh;

# pg_cron runs '* * * * *' jobs at the start of each minute. Schedule well
# clear of a minute boundary, and let pgbench run until 20 s past the next one.
my $sec = $node->safe_psql('postgres', 'SELECT extract(second FROM clock_timestamp())::int');
if ($sec >= 55)
{
	sleep(61 - $sec);
	$sec = $node->safe_psql('postgres', 'SELECT extract(second FROM clock_timestamp())::int');
}
my $duration = 60 - $sec + 20;

# The README recipe's shape: two statements over several lines, with a comment.
my $command = <<"EOS";
    SELECT autoencoder.train($base,
                             epochs => 3, warm_start => true, deploy => 'if_better');
    -- keep the last 3 versions (and always the deployed one)
    SELECT autoencoder.drop_model('m', version) FROM autoencoder.models
    WHERE name = 'm' AND NOT deployed
      AND version <= (SELECT max(version) FROM autoencoder.models WHERE name = 'm') - 3;
EOS
my $jobid = $node->safe_psql('postgres',
	"SELECT cron.schedule('ae-retrain', '* * * * *', \$job\$$command\$job\$)");
like($jobid, qr/^\d+$/, "job scheduled (id $jobid)");

my ($bench_out, $bench_err) = ('', '');
my $bench = IPC::Run::start(
	[
		'pgbench', '-n', '-c', '2', '-j', '2', '-T', $duration, '-f', $script,
		'-h', $node->host, '-p', $node->port, 'postgres'
	],
	'>', \$bench_out, '2>', \$bench_err, IPC::Run::timeout($duration + 60));
note "pgbench runs for $duration s";

# Wait (up to 130 s) for a finished run of the job.
my $run_sql = "SELECT status FROM cron.job_run_details WHERE jobid = $jobid "
  . "AND status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1";
my $status = '';
my $deadline = time + 130;
while (time < $deadline)
{
	$status = $node->safe_psql('postgres', $run_sql);
	last if $status ne '';
	$bench->pump_nb;
	usleep(500_000);
}
is($status, 'succeeded', 'the retraining job ran and succeeded')
  or diag($node->safe_psql('postgres', "SELECT * FROM cron.job_run_details WHERE jobid = $jobid"));

my $bench_ok = $bench->finish;
my $bench_end = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
ok($bench_ok, 'pgbench exited 0') or diag("pgbench stderr:\n$bench_err");
like($bench_out, qr/number of failed transactions: 0 \(/, 'pgbench: 0 failed transactions')
  or diag("pgbench stdout:\n$bench_out");
my ($tx) = $bench_out =~ /number of transactions actually processed: (\d+)/;
cmp_ok($tx // 0, '>', 100, "pgbench processed transactions (" . ($tx // 'none') . ')');
unlike($bench_err, qr/ERROR|aborted/, 'pgbench printed no error');
is( $node->safe_psql('postgres',
		"SELECT end_time < '$bench_end' FROM cron.job_run_details WHERE jobid = $jobid ORDER BY runid LIMIT 1"),
	't', 'the job finished while pgbench was calling encode');

# ---- what the job did
is($node->safe_psql('postgres', "SELECT max(version) FROM autoencoder.models WHERE name = 'm'"),
	'6', 'the job stored version 6');
is( $node->safe_psql('postgres',
		"SELECT d->>'mode', d->>'deployed', d->>'compared_with_version', "
		  . "(d->>'new_loss')::float8 < (d->>'deployed_loss')::float8 "
		  . "FROM autoencoder.models, LATERAL (SELECT metrics->'deployment') AS x(d) "
		  . "WHERE name = 'm' AND version = 6"),
	'if_better|true|1|t',
	'version 6 metrics record the decision: if_better, deployed, compared with version 1, lower loss');
is($node->safe_psql('postgres', "SELECT count(*) FROM autoencoder.models WHERE name = 'm' AND deployed"),
	'1', 'exactly one version of m is deployed');
is($node->safe_psql('postgres', "SELECT version FROM autoencoder.models WHERE name = 'm' AND deployed"),
	'6', 'version 6 (3 more epochs, warm-started from a 1-epoch version 1) is better and deployed');
is( $node->safe_psql('postgres',
		"SELECT string_agg(version::text, ',' ORDER BY version) FROM autoencoder.models WHERE name = 'm'"),
	'4,5,6', 'keep the last 3: versions 1, 2 and 3 were dropped, 4, 5, 6 kept');
is( $node->safe_psql('postgres',
		"SELECT name || ':' || version FROM autoencoder.deployments ORDER BY id DESC LIMIT 1"),
	'm:6', 'the deployment is logged');
my $info = $node->safe_psql('postgres', "SELECT count(*) FROM autoencoder.training_info('m')");
# (and its epoch 0: the deployed weights it started from, a candidate too)
ok($info >= 2 && $info <= 4, "training_info(m) has the retraining's epochs ($info)");

my $v6_md5 = ae_encode_md5_version($node, 'postgres', 'm', 6);
isnt($v6_md5, $v1_md5, 'version 6 encodes differently from version 1');
is(ae_encode_md5($node, 'postgres', 'm'), $v6_md5, 'a new session serves version 6');
is($warm->query_safe($md5_sql), $v6_md5, 'the warm session serves version 6');
$warm->quit;

# ---- unschedule
is($node->safe_psql('postgres', "SELECT cron.unschedule('ae-retrain')"), 't', 'job unscheduled');
is($node->safe_psql('postgres', 'SELECT count(*) FROM cron.job'), '0', 'no job left');

$node->stop;
done_testing();
