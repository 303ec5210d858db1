-- The options table of README.md (between its <!-- options:begin --> and
-- <!-- options:end --> lines), generated from autoencoder.options():
--     psql -XAtq -f scripts/readme_options.sql
-- test/t/009_readme.pl checks that the README holds exactly this.
SELECT line FROM (
    SELECT -2 AS n, '| option | type | default | allowed | train | fit | meaning |' AS line
    UNION ALL
    SELECT -1, '|---|---|---|---|---|---|---|'
    UNION ALL
    SELECT "position",
           format('| `%s` | %s | %s | %s | %s | %s | %s |', name, type,
                  CASE WHEN "default" IS NULL THEN '(required)'
                       WHEN "default" = 'NULL' THEN 'automatic'
                       ELSE '`' || "default" || '`' END,
                  replace(allowed, '|', '\|'),
                  CASE WHEN in_train THEN 'yes' ELSE '' END,
                  CASE WHEN in_fit THEN 'yes' ELSE '' END,
                  replace(description, '|', '\|'))
    FROM autoencoder.options()) t
ORDER BY n;
