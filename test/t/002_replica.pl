# A streaming standby receives new versions and deployments: encode on the
# standby (in a new session and in a session that already has the model
# cached) returns the same bits as on the primary, for every deployment.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use AeTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = ae_new_node('primary', init => { allows_streaming => 1 });
$primary->safe_psql('postgres', 'CREATE EXTENSION autoencoder;' . ae_make_data('t', 2000, 16));

$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');

# ---- version 1
$primary->safe_psql('postgres', ae_train_sql('m', 'seed => 1'));
my $v1 = ae_encode_md5($primary, 'postgres', 'm');
like($v1, qr/^[0-9a-f]{32}$/, 'version 1 encodes every row on the primary');
$primary->wait_for_catchup($standby);
is(ae_encode_md5($standby, 'postgres', 'm'), $v1, 'version 1: standby encode equals primary');
is( $standby->safe_psql('postgres',
		'SELECT name, version, deployed, config, metrics, md5(model::text) FROM autoencoder.models ORDER BY id'),
	$primary->safe_psql('postgres',
		'SELECT name, version, deployed, config, metrics, md5(model::text) FROM autoencoder.models ORDER BY id'),
	'models rows identical on the standby');

# A session on the standby that keeps its cached copy of the model.
my $warm = $standby->background_psql('postgres', on_error_stop => 0);
my $md5_sql = "SELECT md5(string_agg(autoencoder.encode('m', x)::text, ';' ORDER BY id)) FROM t";
is($warm->query_safe($md5_sql), $v1, 'warm standby session serves version 1');

# ---- version 2: a new training deploys it
$primary->safe_psql('postgres', ae_train_sql('m', 'seed => 2'));
my $v2 = ae_encode_md5($primary, 'postgres', 'm');
isnt($v2, $v1, 'version 2 encodes differently from version 1 on the primary');
$primary->wait_for_catchup($standby);
is(ae_encode_md5($standby, 'postgres', 'm'), $v2, 'version 2: new standby session equals primary');
is($warm->query_safe($md5_sql), $v2,
	'version 2: the warm standby session dropped its cached version 1');
is($standby->safe_psql('postgres', "SELECT version FROM autoencoder.models WHERE name = 'm' AND deployed"),
	'2', 'standby sees version 2 deployed');

# ---- deploy() and rollback() replicate too
$primary->safe_psql('postgres', "SELECT autoencoder.deploy('m', 1)");
$primary->wait_for_catchup($standby);
is($warm->query_safe($md5_sql), $v1, 'deploy(m, 1): warm standby session serves version 1 again');
is(ae_encode_md5($standby, 'postgres', 'm'), $v1, 'deploy(m, 1): new standby session too');

is($primary->safe_psql('postgres', "SELECT autoencoder.rollback('m')"),
	'2', 'rollback(m) on the primary returns 2');
$primary->wait_for_catchup($standby);
is($warm->query_safe($md5_sql), $v2, 'rollback: warm standby session serves version 2');
is( $standby->safe_psql('postgres',
		"SELECT string_agg(version::text, ',' ORDER BY id) FROM autoencoder.deployments WHERE name = 'm'"),
	'1,2,1,2', 'standby has the whole deployment log');
is( $standby->safe_psql('postgres', "SELECT * FROM autoencoder.training_info('m')"),
	$primary->safe_psql('postgres', "SELECT * FROM autoencoder.training_info('m')"),
	'training_info identical on the standby');

# ---- a standby cannot train or deploy, and keeps serving
my ($ret, $out, $err) = $standby->psql('postgres', ae_train_sql('m', 'seed => 3'));
isnt($ret, 0, 'train on the standby fails');
like($err, qr/ERROR:  .*(read-only|recovery)/, 'with a read-only / recovery error');
note "train on the standby: $err";
($ret, $out, $err) = $standby->psql('postgres', "SELECT autoencoder.deploy('m', 1)");
isnt($ret, 0, 'deploy on the standby fails');
like($err, qr/ERROR:  .*(read-only|recovery)/, 'with a read-only / recovery error');
note "deploy on the standby: $err";
is(ae_encode_md5($standby, 'postgres', 'm'), $v2, 'the standby still serves version 2');
is($standby->safe_psql('postgres', "SELECT count(*) FROM autoencoder.models"), '2',
	'no version was added on the standby');

# ---- dropping the model on the primary: the warm session no longer serves it
$primary->safe_psql('postgres', "SELECT autoencoder.drop_model('m')");
$primary->wait_for_catchup($standby);
my ($res, $failed) = $warm->query($md5_sql);
ok($failed, 'after drop_model(m) on the primary, the warm standby session errors');
like($warm->{stderr}, qr/model "m" does not exist/, 'with "model does not exist"');
$warm->quit;

$standby->stop;
$primary->stop;
done_testing();
