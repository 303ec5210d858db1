# pg_dump / restore of a database holding models: every version, deployment,
# config and metric comes back, encode is bitwise identical, and the id and
# version numbering continue after the restored rows.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use AeTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = ae_new_node('dump');
my $tmp = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION autoencoder;' . ae_make_data('t', 2000, 16));

# alpha: versions 1..3, then version 2 deployed again (not the latest);
# beta: versions 1..2 trained, version 3 saved undeployed (so beta's deployed
# version, 2, is not its latest either).
for my $seed (1 .. 3)
{
	$node->safe_psql('src', ae_train_sql('alpha', "seed => $seed"));
}
for my $seed (4 .. 5)
{
	$node->safe_psql('src', ae_train_sql('beta', "seed => $seed"));
}
$node->safe_psql('src',
	"SELECT autoencoder.save('beta', autoencoder.get_model('beta', 1), deploy => false)");
$node->safe_psql('src', "SELECT autoencoder.deploy('alpha', 2)");

is( $node->safe_psql('src',
		"SELECT string_agg(name || ':' || version, ',' ORDER BY name) FROM autoencoder.models WHERE deployed"),
	'alpha:2,beta:2',
	'source: deployed versions are alpha 2 and beta 2 (neither the latest)');
is($node->safe_psql('src', 'SELECT count(*) FROM autoencoder.models'),
	'6', 'source: six versions stored');

# Everything that must survive, as text.
# Every column (whatever columns the table has); model-typed columns as md5s.
my $models_sql =
  "SELECT to_jsonb(m) - 'model' - 'baseline', md5(m.model::text), md5(m::text) "
  . "FROM autoencoder.models m ORDER BY name, version";
my $models_full_sql =
  "SELECT m::text FROM autoencoder.models m ORDER BY name, version";
my $deployments_sql =
  "SELECT id, name, version, deployed_at FROM autoencoder.deployments ORDER BY id";
my $info_sql =
  "SELECT m.name, m.version, i.* FROM autoencoder.models m, "
  . "LATERAL autoencoder.training_info(m.name, m.version) i "
  . "ORDER BY m.name, m.version, i.epoch";
my $ids_sql = "SELECT string_agg(id::text, ',' ORDER BY id) FROM autoencoder.models";

sub snapshot
{
	my ($db) = @_;
	my %s;
	$s{models} = $node->safe_psql($db, $models_sql);
	$s{models_full} = $node->safe_psql($db, $models_full_sql);
	$s{deployments} = $node->safe_psql($db, $deployments_sql);
	$s{info} = $node->safe_psql($db, $info_sql);
	$s{ids} = $node->safe_psql($db, $ids_sql);
	for my $name ('alpha', 'beta')
	{
		$s{"encode $name"} = ae_encode_md5($node, $db, $name);
		for my $v (1 .. 3)
		{
			$s{"encode $name v$v"} = ae_encode_md5_version($node, $db, $name, $v);
		}
	}
	# Other inference functions, bit for bit as well.
	$s{reconstruct} = $node->safe_psql($db,
		"SELECT md5(string_agg(autoencoder.reconstruct('alpha', x)::text || '/' || "
		  . "autoencoder.reconstruction_error('beta', x)::text, ';' ORDER BY id)) FROM t");
	return \%s;
}

my $before = snapshot('src');

# Sanity of the snapshot itself, so that "identical" means something.
isnt($before->{'encode alpha'}, $before->{'encode alpha v3'},
	'source: encode(alpha) serves version 2, not the latest version 3');
is($before->{'encode alpha'}, $before->{'encode alpha v2'},
	'source: encode(alpha) equals encode(get_model(alpha, 2))');
is($before->{'encode beta v3'}, $before->{'encode beta v1'},
	'source: beta 3 is a copy of beta 1');
for my $k (grep { /^encode|^reconstruct/ } sort keys %$before)
{
	like($before->{$k}, qr/^[0-9a-f]{32}$/, "source: $k is the md5 of a non-empty output");
}
is( $node->safe_psql('src',
		"SELECT string_agg(name || ':' || version, ',' ORDER BY id) FROM autoencoder.deployments"),
	'alpha:1,alpha:2,alpha:3,beta:1,beta:2,alpha:2',
	'source: the deployments log has a row per deployment (5 trainings + deploy())');
like($before->{info}, qr/^alpha\|1\|1\|/m, 'source: training_info has epoch rows');

# ---- a custom-format dump through pg_restore and a plain one through psql,
# each into a new database
ae_dump_restore($node, 'src', $tmp);

for my $db ('dst_custom', 'dst_plain')
{
	my $after = snapshot($db);
	for my $k (sort keys %$before)
	{
		# A failed comparison of a multi-kilobyte model text is unreadable;
		# the md5 in {models} already localises it.
		if ($k eq 'models_full')
		{
			ok($after->{$k} eq $before->{$k}, "$db: $k identical");
		}
		else
		{
			is($after->{$k}, $before->{$k}, "$db: $k identical");
		}
	}
	is( $node->safe_psql($db,
			"SELECT string_agg(name || ':' || version, ',' ORDER BY name) FROM autoencoder.models WHERE deployed"),
		'alpha:2,beta:2',
		"$db: deployed versions are alpha 2 and beta 2");

	# The deployment history came back too: rollback goes back to the
	# version deployed before deploy('alpha', 2), i.e. 3, in both databases.
	is($node->safe_psql($db, "SELECT autoencoder.rollback('alpha')"),
		'3', "$db: rollback(alpha) after restore returns 3");
	is(ae_encode_md5($node, $db, 'alpha'), $before->{'encode alpha v3'},
		"$db: after rollback encode(alpha) serves version 3 bit for bit");

	# Numbering continues after the restored rows.
	my $max_id = $node->safe_psql($db, 'SELECT max(id) FROM autoencoder.models');
	my $new_id = $node->safe_psql($db, ae_train_sql('alpha', 'seed => 9'));
	cmp_ok($new_id, '>', $max_id, "$db: a new train gets id $new_id > restored max id $max_id");
	is( $node->safe_psql($db,
			"SELECT version || ':' || deployed FROM autoencoder.models WHERE id = $new_id"),
		'4:true', "$db: the new train is alpha version 4, deployed");
	my $new_beta = $node->safe_psql($db,
		"SELECT autoencoder.save('beta', autoencoder.get_model('beta', 2), deploy => false)");
	cmp_ok($new_beta, '>', $new_id, "$db: save() after restore gets a larger id still");
	is($node->safe_psql($db, "SELECT version FROM autoencoder.models WHERE id = $new_beta"),
		'4', "$db: the saved copy is beta version 4");
	my $last_dep = $node->safe_psql($db, 'SELECT max(id) FROM autoencoder.deployments');
	my $src_dep = $node->safe_psql('src', 'SELECT max(id) FROM autoencoder.deployments');
	cmp_ok($last_dep, '>', $src_dep,
		"$db: deployments after restore are logged with ids after the restored ones");
	is( $node->safe_psql($db,
			"SELECT name || ':' || version FROM autoencoder.deployments ORDER BY id DESC LIMIT 1"),
		'alpha:4', "$db: the last logged deployment is alpha 4");
}

# The source database was not touched by any of this.
is($node->safe_psql('src', $models_sql), $before->{models}, 'source unchanged');

$node->stop;
done_testing();
