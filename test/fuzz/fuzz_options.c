/*-------------------------------------------------------------------------
 *
 * fuzz_options.c
 *	  libFuzzer target: fit()'s JSON options (ae_json_parse and
 *	  ae_options_from_json), then ae_options_check and ae_options_resolve
 *	  for an input dimension d in 1 .. 20 taken from the first byte; the
 *	  rest of the input is the JSON text.
 *
 * Options that check must
 *   - write canonical JSON (what a fit state stores) that reads back to the
 *     same canonical JSON, and a full configuration that is a JSON object;
 *   - pass ae_train_config_check (ae_train's own guard);
 *   - start a fit state exactly when they resolve for d (ae_fitstate_init
 *     and ae_fitstate_start agree with the option functions).
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_util.h"
#include "ae_fitstate.h"
#include "ae_options.h"

/* JSON of o's options accepted by fit() (given ones only, if asked). */
static char *
options_text(const ae_options *o, int given_only, size_t *len)
{
	ae_json		j;
	char	   *text;

	ae_json_init(&j, &fz_alloc);
	ae_json_object_begin(&j, NULL);
	ae_options_json(&j, o, AE_OPT_FIT, given_only);
	ae_json_object_end(&j);
	text = ae_json_finish(&j, len);
	FZ_CHECK(text != NULL, "options JSON: out of memory");
	return text;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ae_options	o,
				o2;
	ae_error	err;
	ae_status	st,
				st_opts,
				st_resolve = AE_EINVAL;
	int			d;
	const char *json;
	size_t		len;

	if (size < 1)
		return 0;
	d = 1 + data[0] % 20;
	json = (const char *) data + 1;
	len = size - 1;
	if (len == 0)
	{
		json = "{}";			/* a fit state reads no text as no options */
		len = 2;
	}

	memset(&err, 0, sizeof(err));
	ae_options_default(&o);
	st = ae_options_from_json(&o, json, len, AE_OPT_FIT, &fz_alloc, &err);
	if (st == AE_OK)
		st = ae_options_check(&o, &err);
	st_opts = st;
	if (st == AE_OK)
	{
		char	   *canon,
				   *canon2,
				   *full;
		size_t		clen,
					clen2,
					flen;

		canon = options_text(&o, 1, &clen);
		full = options_text(&o, 0, &flen);
		FZ_CHECK(fz_json_ok(full, flen, AE_JOBJECT), "configuration is not a JSON object: %.200s", full);
		free(full);
		FZ_CHECK(ae_train_config_check(&o.cfg, &err) == AE_OK,
				 "checked options fail ae_train_config_check: %s", err.message);

		/* the canonical text reads back to itself */
		ae_options_default(&o2);
		st = ae_options_from_json(&o2, canon, clen, AE_OPT_FIT, &fz_alloc, &err);
		FZ_CHECK(st == AE_OK, "canonical options %.200s do not read back: %s", canon, err.message);
		FZ_CHECK(ae_options_check(&o2, &err) == AE_OK,
				 "canonical options %.200s do not check: %s", canon, err.message);
		canon2 = options_text(&o2, 1, &clen2);
		FZ_CHECK(clen == clen2 && memcmp(canon, canon2, clen) == 0,
				 "canonical options differ after a trip: %.200s and %.200s", canon, canon2);
		free(canon2);
		free(canon);

		st_resolve = ae_options_resolve(&o, d, &err);
		if (st_resolve == AE_OK)
		{
			FZ_CHECK(o.arch.n_input == d && o.arch.latent >= 1 && o.arch.latent <= d,
					 "resolved latent %d for d = %d", o.arch.latent, d);
			FZ_CHECK(ae_arch_check(&o.arch, err.message, sizeof(err.message)) == AE_OK,
					 "resolved architecture invalid: %s", err.message);
		}
		else
			FZ_CHECK(fz_message_ok(err.message, sizeof(err.message)), "no message");
	}
	else
	{
		FZ_CHECK(st == AE_EINVAL || st == AE_EFORMAT || st == AE_ENOMEM || st == AE_ELIMIT,
				 "status %d", (int) st);
		FZ_CHECK(fz_message_ok(err.message, sizeof(err.message)), "no message");
	}

	/* a fit state starts exactly when the options check and resolve */
	{
		ae_fitstate s;
		ae_status	si;

		si = ae_fitstate_init(&s, json, len, &fz_alloc, &err);
		FZ_CHECK(si != AE_OK || st_opts == AE_OK,
				 "ae_fitstate_init accepts options the option functions reject");
		FZ_CHECK(si == AE_OK || st_opts != AE_OK || s.opts_len > AE_FITSTATE_MAX_OPTS,
				 "ae_fitstate_init rejects options the option functions accept: %s", err.message);
		if (si == AE_OK)
		{
			si = ae_fitstate_start(&s, d, 1000, &err);
			if (st_resolve == AE_OK)
				FZ_CHECK(si == AE_OK ||
						 (si == AE_ELIMIT && (uint64_t) o.max_rows > ae_fitstate_sample_bound(d)),
						 "ae_fitstate_start fails (%d) for options that resolve for d = %d: %s",
						 (int) si, d, err.message);
			else
				FZ_CHECK(si != AE_OK, "ae_fitstate_start accepts options that do not resolve for d = %d", d);
		}
		ae_fitstate_free(&s);
	}
	return 0;
}
