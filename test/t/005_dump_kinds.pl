# pg_dump / restore of a database holding every kind of model (issue 9,
# point 5): exact PCA (train with activation => 'linear'), gradient (relu
# with hidden units), denoising (noise => 'gaussian'), fitted (the fit
# aggregate's result stored with save(), PCA and gradient), saved (save() of a
# get_model() value), plus user tables with a model column and a fit_state
# column.  Restored with a plain dump through psql and with -Fc through
# pg_restore: every row comes back, and encode / reconstruct / decode /
# reconstruction_error / describe outputs are identical bit for bit, as are
# the fit states' text and the models fit_final makes of them.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use AeTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = ae_new_node('dumpkinds');
my $tmp = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION autoencoder;' . ae_make_data('t', 600, 8));

my $src = "'SELECT x FROM t ORDER BY id'";
my %kinds = (
	exact => "SELECT autoencoder.train('exact', $src, latent_dim => 3, activation => 'linear')",
	gradient => "SELECT autoencoder.train('gradient', $src, latent_dim => 3, hidden_units => '{6}', "
	  . "activation => 'relu', epochs => 3, batch_size => 64, seed => 3)",
	denoising => "SELECT autoencoder.train('denoising', $src, latent_dim => 3, hidden_units => '{6}', "
	  . "activation => 'tanh', noise => 'gaussian', noise_level => 0.2, epochs => 3, batch_size => 64)",
	fitted => "SELECT autoencoder.save('fitted', "
	  . "(SELECT autoencoder.fit(x, '{\"latent_dim\": 3, \"hidden_units\": [5], \"epochs\": 2, \"seed\": 7}') FROM t))",
	fitted_pca => "SELECT autoencoder.save('fitted_pca', "
	  . "(SELECT autoencoder.fit(x, '{\"latent_dim\": 2, \"activation\": \"linear\"}') FROM t))",
);
# trained first: saved copies gradient's deployed version
my @order = qw(exact gradient denoising fitted fitted_pca);
for my $k (@order)
{
	$node->safe_psql('src', ae_setup_sql() . $kinds{$k});
}
$node->safe_psql('src',
	"SELECT autoencoder.save('saved', autoencoder.get_model('gradient'));"
	  . "SELECT autoencoder.save('saved', autoencoder.get_model('denoising'), deploy => false);");
my @names = (@order, 'saved');

# user tables: model values, and partial fit states of each kind (built with
# a temporary aggregate over the state function, as a distributed engine does)
$node->safe_psql(
	'src', ae_setup_sql() . <<'EOS');
CREATE TABLE model_values (name text PRIMARY KEY, m autoencoder.model NOT NULL);
INSERT INTO model_values
SELECT 'fit_sampled', autoencoder.fit(x, '{"latent_dim": 2, "max_rows": 100, "epochs": 2, "seed": 5}') FROM t
UNION ALL
SELECT 'fit_minmax', autoencoder.fit(x, '{"latent_dim": 2, "hidden_units": [4], "scaling": "minmax", "epochs": 1}') FROM t
UNION ALL
SELECT 'exact_copy', autoencoder.get_model('exact');
CREATE AGGREGATE pg_temp.partial(real[], jsonb) (SFUNC = autoencoder.fit_accum, STYPE = autoencoder.fit_state);
CREATE TABLE states (id int PRIMARY KEY, s autoencoder.fit_state);
INSERT INTO states
SELECT 1, pg_temp.partial(x, '{"latent_dim": 2, "activation": "linear"}') FROM t
UNION ALL
SELECT 2, pg_temp.partial(x, '{"latent_dim": 2, "activation": "linear"}') FROM t WHERE id <= 2
UNION ALL
SELECT 3, pg_temp.partial(x, '{"latent_dim": 2, "max_rows": 50, "epochs": 1}') FROM t
UNION ALL
SELECT 4, pg_temp.partial(x, '{"latent_dim": 2, "max_rows": 50, "epochs": 1}') FROM t WHERE id <= 30
UNION ALL
SELECT 5, pg_temp.partial(NULL::real[], '{"latent_dim": 2, "max_rows": 50, "epochs": 1}') FROM t WHERE id <= 3
UNION ALL
SELECT 6, NULL;
EOS

is($node->safe_psql('src', 'SELECT count(*) FROM autoencoder.models'),
	'7', 'source: seven model versions stored (one per kind, two saved)');
is($node->safe_psql('src', 'SELECT count(*) FROM states WHERE s IS NOT NULL'),
	'5', 'source: five fit states stored');

# Everything that must come back, as text (md5s of bit-exact outputs).
sub out_md5
{
	my ($db, $fn, $model) = @_;
	return $node->safe_psql($db,
		    "SELECT md5(string_agg(autoencoder.$fn($model, x)::text, ';' ORDER BY id)) FROM t");
}

sub snapshot
{
	my ($db) = @_;
	my %s;
	$s{models} = $node->safe_psql($db,
		    "SELECT to_jsonb(m) - 'model' - 'baseline', md5(m.model::text), md5(m::text) "
		  . "FROM autoencoder.models m ORDER BY name, version");
	$s{model_names} = $node->safe_psql($db,
		'SELECT name, last_version FROM autoencoder.model_names ORDER BY name');
	$s{deployments} = $node->safe_psql($db,
		'SELECT id, name, version, deployed_at FROM autoencoder.deployments ORDER BY id');
	$s{model_values} = $node->safe_psql($db,
		'SELECT name, md5(m::text), md5(autoencoder.describe(m)::text) FROM model_values ORDER BY name');
	$s{states} = $node->safe_psql($db,
		'SELECT id, md5(s::text), length(s::text) FROM states ORDER BY id');
	$s{state_models} = $node->safe_psql($db,
		    'SELECT id, md5(autoencoder.fit_final(s)::text) FROM states '
		  . 'WHERE s IS NOT NULL ORDER BY id');
	for my $name (@names)
	{
		my $q = "'$name'";
		$s{"encode $name"} = out_md5($db, 'encode', $q);
		$s{"reconstruct $name"} = out_md5($db, 'reconstruct', $q);
		$s{"denoise $name"} = out_md5($db, 'denoise', $q);
		$s{"reconstruction_error $name"} = out_md5($db, 'reconstruction_error', $q);
		$s{"decode $name"} = $node->safe_psql($db,
			    "SELECT md5(string_agg(autoencoder.decode('$name', autoencoder.encode('$name', x))::text, "
			  . "';' ORDER BY id)) FROM t");
		$s{"describe $name"} = $node->safe_psql($db,
			"SELECT md5(autoencoder.describe(autoencoder.get_model('$name'))::text)");
	}
	for my $v (qw(fit_sampled fit_minmax exact_copy))
	{
		$s{"encode value $v"} = out_md5($db, 'encode',
			"(SELECT m FROM model_values WHERE name = '$v')");
	}
	return \%s;
}

# fit_final of the states of ids combined by fit_combine (which runs only
# inside an aggregate: a temporary one over states)
sub combined
{
	my ($db, $ids) = @_;
	return $node->safe_psql($db, ae_setup_sql() . <<"EOS");
CREATE AGGREGATE pg_temp.combine(autoencoder.fit_state) (SFUNC = autoencoder.fit_combine, STYPE = autoencoder.fit_state);
SELECT md5(autoencoder.fit_final(pg_temp.combine(s ORDER BY id))::text) FROM states WHERE id IN ($ids);
EOS
}

my $before = snapshot('src');
like(combined('src', '1, 2'), qr/^[0-9a-f]{32}$/, 'source: two exact states combine into a model');
like(combined('src', '3, 4, 5'), qr/^[0-9a-f]{32}$/, 'source: sampled states combine into a model');
for my $k (sort grep { /^(encode|reconstruct|denoise|decode|describe)/ } keys %$before)
{
	like($before->{$k}, qr/^[0-9a-f]{32}$/, "source: $k is the md5 of a non-empty output");
}
isnt($before->{'encode exact'}, $before->{'encode gradient'}, 'source: the kinds differ');
is($before->{'encode saved'}, $before->{'encode gradient'},
	'source: saved serves the copy of gradient (its second version is not deployed)');
like($before->{state_models}, qr/^1\|[0-9a-f]{32}\n2\|[0-9a-f]{32}\n3\|[0-9a-f]{32}\n4\|[0-9a-f]{32}\n5\|$/,
	'source: fit_final of each state gives a model (NULL for the state without rows)');

# ---- a custom-format dump through pg_restore and a plain one through psql,
# each into a new database
ae_dump_restore($node, 'src', $tmp);

for my $db ('dst_custom', 'dst_plain')
{
	is($node->safe_psql($db, 'SELECT count(*) FROM autoencoder.models'),
		'7', "$db: all seven model versions restored");
	my $after = snapshot($db);
	for my $k (sort keys %$before)
	{
		is($after->{$k}, $before->{$k}, "$db: $k identical");
	}
	# the restored states still combine and finish like the originals
	is(combined($db, '1, 2'), combined('src', '1, 2'),
		"$db: combining two restored exact states gives the source's model");
	is(combined($db, '3, 4, 5'), combined('src', '3, 4, 5'),
		"$db: combining restored sampled states gives the source's model");
	# and training continues after the restored versions
	my $id = $node->safe_psql($db,
		ae_setup_sql() . "SELECT autoencoder.save('saved', autoencoder.get_model('exact'))");
	is($node->safe_psql($db, "SELECT version FROM autoencoder.models WHERE id = $id"),
		'3', "$db: the next save of saved is its version 3");
}

is($node->safe_psql('src', 'SELECT count(*) FROM autoencoder.models'),
	'7', 'source unchanged');

$node->stop;
done_testing();
