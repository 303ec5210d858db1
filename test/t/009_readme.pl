# The README works as written: every ```sql block of README.md runs, in
# order, in one database of a fresh cluster, without an error; the options
# table between <!-- options:begin --> and <!-- options:end --> is exactly
# what scripts/readme_options.sql generates from autoencoder.options().
#
# A block whose first lines hold a marker runs only where its prerequisite is:
#   -- requires pg_cron     the cluster preloads pg_cron when it is installed;
#                           the job's command ($$ ... $$ of cron.schedule) is
#                           then also run directly, twice, as a scheduled
#                           run would (the first run must work)
#   -- requires pgvector    runs when the vector extension is available
#   -- requires citus       never here: test/t/010_citus.pl runs a cluster
# A skipped block is reported with its reason.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use AeTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $root = "$FindBin::RealBin/../..";
open(my $fh, '<', "$root/README.md") or die "README.md: $!";
my $readme = do { local $/; <$fh> };
close $fh;

# the ```sql blocks, with the line each starts on
my @blocks;
while ($readme =~ /^```sql\n(.*?)^```[ \t]*$/msg)
{
	my $body = $1;
	my $line = 1 + (() = substr($readme, 0, $-[0]) =~ /\n/g);
	push @blocks, { sql => $body, line => $line };
}
cmp_ok(scalar @blocks, '>=', 10, scalar(@blocks) . ' SQL blocks in README.md');

my $libdir = `pg_config --pkglibdir`;
chomp $libdir;
my $have_cron = -e "$libdir/pg_cron.so";
my $node = ae_new_node('readme',
	conf => $have_cron
	? "shared_preload_libraries = 'pg_cron'\ncron.database_name = 'postgres'\n"
	: '');
# the README's own settings: NOTICEs are shown to its reader, not checked here
$node->append_conf('postgresql.conf', "client_min_messages = notice\n");
$node->reload;
my $have_vector = $node->safe_psql('postgres',
	"SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") eq '1';

# run one block; returns (ok, stderr)
sub run_block
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', $sql, on_error_stop => 1);
	return ($rc == 0 && $err !~ /^(?:psql:.*)?ERROR:/m, $err);
}

my ($ran, $skipped) = (0, 0);
for my $b (@blocks)
{
	my $sql = $b->{sql};
	my ($first) = $sql =~ /^\s*(\S[^\n]*)/;
	my $what = "README.md line $b->{line} ($first)";
	my ($req) = $sql =~ /^\s*--\s*requires\s+(\w+)/m;
	if (defined $req && $req eq 'citus')
	{
		note("skipped $what: needs a Citus cluster (test/t/010_citus.pl covers it)");
		$skipped++;
		next;
	}
	if (defined $req && $req eq 'pgvector' && !$have_vector)
	{
		note("skipped $what: pgvector is not installed (../shared/pgvector/build.sh)");
		$skipped++;
		next;
	}
	if (defined $req && $req eq 'pg_cron' && !$have_cron)
	{
		note("skipped $what: pg_cron is not installed (postgresql-15-cron)");
		$skipped++;
		next;
	}
	my ($ok, $err) = run_block($sql);
	ok($ok, "runs as written: $what") or diag($err);
	$ran++;
	if (defined $req && $req eq 'pg_cron' && $sql =~ /cron\.schedule\([^\$]*\$\$(.*?)\$\$/s)
	{
		my $job = $1;
		for my $run (1, 2)
		{
			my ($jok, $jerr) = run_block($job);
			ok($jok, "the scheduled command of line $b->{line} works on run $run") or diag($jerr);
		}
	}
}
cmp_ok($ran, '>=', 8, "$ran blocks ran, $skipped skipped");

# the options table
my ($table) = $readme =~ /<!-- options:begin -->\n(.*?)<!-- options:end -->/s;
ok(defined $table, 'README.md has an options table between the markers');
my $generated = $node->safe_psql('postgres',
	"CREATE EXTENSION IF NOT EXISTS autoencoder;\n" . slurp_file("$root/scripts/readme_options.sql"));
$table //= '';
$table =~ s/\s+$//;
is($table, $generated,
	'the options table is what scripts/readme_options.sql generates (regenerate it: psql -XAtq -f scripts/readme_options.sql)');

$node->stop;
done_testing();
