# Helpers shared by the autoencoder TAP tests (test/t/*.pl).
#
#   use FindBin; use lib $FindBin::RealBin; use AeTest;
#
# Everything here is small and deterministic: the data are generated with
# sin/cos in SQL, so two clusters (or two databases) built the same way hold
# bit-identical rows.
package AeTest;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use Test::More;

our @EXPORT = qw(ae_new_node ae_make_data ae_setup_sql ae_encode_md5
  ae_encode_md5_version ae_scalar ae_train_sql ae_dump_restore);

# A new, started cluster with the settings every autoencoder test wants.
# %opts: init => {...} (passed to ->init), conf => "extra postgresql.conf
# lines", start => 0 to leave it stopped.
sub ae_new_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $opts{init} // {} });
	$node->append_conf('postgresql.conf', <<'EOC');
autoencoder.threads = 1
log_min_messages = warning
log_error_verbosity = default
client_min_messages = warning
EOC
	$node->append_conf('postgresql.conf', $opts{conf}) if $opts{conf};
	$node->start unless defined $opts{start} && !$opts{start};
	return $node;
}

# SQL creating table <table>(id int primary key, x real[]) with <rows> rows of
# <dims> deterministic features in about [-1.5, 1.5].
sub ae_make_data
{
	my ($table, $rows, $dims) = @_;
	return <<"EOS";
CREATE TABLE $table (id int PRIMARY KEY, x real[] NOT NULL);
INSERT INTO $table
SELECT i, ARRAY(SELECT (sin(i * 0.37 + j * 1.31) + 0.5 * cos(i * 0.013 * j + j))::real
                FROM generate_series(1, $dims) AS j)
FROM generate_series(1, $rows) AS i;
ANALYZE $table;
EOS
}

# SQL run first in every session that trains (silences the per-epoch NOTICEs).
sub ae_setup_sql
{
	return "SET client_min_messages = warning;\n";
}

# SQL for a small, fast training of <name> on table t (2000 x 16 by default).
# Extra named arguments are appended verbatim (e.g. "seed => 7").
sub ae_train_sql
{
	my ($name, $extra) = @_;
	$extra = defined $extra && length $extra ? ", $extra" : '';
	return "SELECT autoencoder.train('$name', 'SELECT x FROM t ORDER BY id', "
	  . "latent_dim => 4, hidden_units => '{8}', activation => 'tanh', "
	  . "epochs => 3, batch_size => 64$extra)";
}

# md5 of the text of encode(<model>, x) over every row of <table>, in id
# order, under the deployed version. real[]'s text output is the shortest
# exact representation of every float, so equal md5s mean bitwise equal codes.
sub ae_encode_md5
{
	my ($node, $db, $model, $table) = @_;
	$table //= 't';
	return $node->safe_psql($db,
		    "SELECT md5(string_agg(autoencoder.encode('$model', x)::text, ';' ORDER BY id)) "
		  . "FROM $table");
}

# Same for one stored version, through get_model(name, version).
sub ae_encode_md5_version
{
	my ($node, $db, $model, $version, $table) = @_;
	$table //= 't';
	return $node->safe_psql($db,
		    "SELECT md5(string_agg(autoencoder.encode(m, x)::text, ';' ORDER BY id)) "
		  . "FROM $table, autoencoder.get_model('$model', $version) AS m");
}

# One value from a query (dies on error).
sub ae_scalar
{
	my ($node, $db, $sql) = @_;
	return $node->safe_psql($db, $sql);
}

# Dump database $src of $node twice, into files in $dir, and restore each
# into a new database: dst_custom (pg_dump -Fc, pg_restore --exit-on-error)
# and dst_plain (a plain dump through psql with ON_ERROR_STOP).  Six tests:
# each dump and each restore succeeds, and neither restore prints anything
# on stderr.
sub ae_dump_restore
{
	my ($node, $src, $dir) = @_;
	my ($stdout, $stderr);

	my $dumpfile = "$dir/$src.dump";
	$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr($src), '-f', $dumpfile ],
		'pg_dump -Fc');
	$node->safe_psql('postgres', 'CREATE DATABASE dst_custom');
	($stdout, $stderr) = ('', '');
	ok( IPC::Run::run(
			[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst_custom'), $dumpfile ],
			'>', \$stdout, '2>', \$stderr),
		'pg_restore exits 0');
	is($stderr, '', 'pg_restore prints no error or warning');

	my $plain = "$dir/$src.sql";
	$node->safe_psql('postgres', 'CREATE DATABASE dst_plain');
	$node->command_ok([ 'pg_dump', '-d', $node->connstr($src), '-f', $plain ], 'pg_dump (plain)');
	($stdout, $stderr) = ('', '');
	ok( IPC::Run::run(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('dst_plain'), '-f', $plain ],
			'>', \$stdout, '2>', \$stderr),
		'plain dump restores through psql with ON_ERROR_STOP');
	is($stderr, '', 'psql restore prints no error');
	return;
}

1;
