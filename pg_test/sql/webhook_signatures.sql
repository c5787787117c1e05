-- webhook_signatures: Standard Webhooks v1 signatures (https://www.standardwebhooks.com).
-- webhook_sign signs {msg_id}.{timestamp}.{payload} with HMAC-SHA256 under the key of a
-- whsec_ secret; webhook_verify checks a webhook-signature header and the timestamp's
-- distance from now(); webhook_generate_secret makes new secrets. Nothing is stored:
-- the suite drops only its temporary table and view. The payload of vector D is not
-- ASCII, so the database must be UTF8 (as pgrx requires for non-ASCII text).
SET timezone = 'UTC';

-- The test vectors. A and B are published in github.com/standard-webhooks/standard-webhooks:
-- A by every reference library's sign test (libraries/python/tests/test_webhooks.py
-- test_sign_function, libraries/javascript/src/webhook.test.ts, libraries/go/webhook_test.go,
-- and the PHP, Ruby, Java and C# tests), B by libraries/rust/src/lib.rs (test_sign).
-- C (32-byte key, the message of the spec's example) and D (64-byte key, non-ASCII payload)
-- were computed with the reference Python library (standardwebhooks on PyPI).
CREATE TEMP TABLE vectors (name text, secret text, msg_id text, ts bigint, payload text, expected text);
INSERT INTO vectors VALUES
    ('A', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330,
     '{"test": 2432232314}', 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='),
    ('B', 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD', 'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk', 1649367553,
     '{"email":"test@example.com","username":"test_user"}', 'v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw='),
    ('C', 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 1674087231,
     '{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52-5198-4599-803e-771906343485"}}',
     'v1,4PMU5Dl90B4kgwxDpwuMZ/cnZ5ztf+Y+kviYQD66rJg='),
    ('C unpadded secret', 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8', 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 1674087231,
     '{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52-5198-4599-803e-771906343485"}}',
     'v1,4PMU5Dl90B4kgwxDpwuMZ/cnZ5ztf+Y+kviYQD66rJg='),
    ('D', 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==',
     'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 1674087231, U&'{"name":"Zo\00EB \2603"}',
     'v1,1bSmRmh9Q1PumliNN8INshjWdagu5Ep3KwaVLHs/3ac=');

------------------------------------------------------------------------------
-- webhook_sign
------------------------------------------------------------------------------
-- Every vector signs to its expected header value.
SELECT name, webhook_sign(secret, msg_id, ts, payload) AS signature,
       webhook_sign(secret, msg_id, ts, payload) = expected AS matches
  FROM vectors ORDER BY name;
-- The signature depends on every part of the message and on the key.
SELECT webhook_sign(secret, msg_id, ts, payload || ' ') = expected AS payload_changed,
       webhook_sign(secret, msg_id || 'x', ts, payload) = expected AS msg_id_changed,
       webhook_sign(secret, msg_id, ts + 1, payload) = expected AS timestamp_changed,
       webhook_sign('whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD', msg_id, ts, payload) = expected AS key_changed
  FROM vectors WHERE name = 'A';
-- Empty message id and payload, negative timestamp: signed as given.
SELECT webhook_sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '', -1, '') ~ '^v1,[A-Za-z0-9+/]{43}=$' AS signed;

------------------------------------------------------------------------------
-- webhook_verify
------------------------------------------------------------------------------
-- The vectors are years old: with the largest tolerance (about 68 years) their signatures
-- verify, and the wrong signatures published with them do not.
SELECT name, webhook_verify(secret, msg_id, ts, payload, expected, 2147483647) AS valid
  FROM vectors ORDER BY name;
SELECT webhook_verify(secret, msg_id, ts, payload, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=', 2147483647)
       AS python_invalid_signature,
       webhook_verify(secret, msg_id, ts, payload, 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=', 2147483647)
       AS go_invalid_signature
  FROM vectors WHERE name = 'A';
SELECT webhook_verify(secret, msg_id, ts, payload, 'v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=', 2147483647)
       AS rust_invalid_signature
  FROM vectors WHERE name = 'B';
-- With the default tolerance of 300 seconds they are far too old.
SELECT name, webhook_verify(secret, msg_id, ts, payload, expected) AS valid
  FROM vectors ORDER BY name;

-- A fresh message: vector A's secret, id and payload, signed now. Each statement signs and
-- verifies within itself, so its now() is the one webhook_verify compares with.
CREATE TEMP VIEW fresh AS
SELECT secret, msg_id, ts, payload, webhook_sign(secret, msg_id, ts, payload) AS header
  FROM (SELECT secret, msg_id, floor(extract(epoch FROM now()))::bigint AS ts, payload
          FROM vectors WHERE name = 'A') m;
SELECT webhook_verify(secret, msg_id, ts, payload, header) AS correct,
       webhook_verify(secret, msg_id, ts, '{"test": 2432232315}', header) AS tampered_payload,
       webhook_verify(secret, msg_id, ts, payload || ' ', header) AS trailing_space,
       webhook_verify(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJeK', ts, payload, header) AS tampered_msg_id,
       webhook_verify(secret, msg_id, ts - 1, payload, header) AS tampered_timestamp,
       webhook_verify('whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD', msg_id, ts, payload, header) AS other_secret
  FROM fresh;

-- Several entries: any v1 entry may match; other versions are ignored even when their
-- signature is the right one.
SELECT webhook_verify(secret, msg_id, ts, payload,
                      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ' || header) AS second_of_two,
       webhook_verify(secret, msg_id, ts, payload,
                      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= '
                      || header || ' v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=') AS third_of_four,
       webhook_verify(secret, msg_id, ts, payload, header || ' v1a,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=')
       AS beside_v1a,
       webhook_verify(secret, msg_id, ts, payload, '  ' || header || '  ') AS extra_spaces,
       webhook_verify(secret, msg_id, ts, payload,
                      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=')
       AS only_wrong_ones
  FROM fresh;
SELECT webhook_verify(secret, msg_id, ts, payload, 'v2,' || substr(header, 4)) AS v2_alone,
       webhook_verify(secret, msg_id, ts, payload, 'v1a,' || substr(header, 4)) AS v1a_alone,
       webhook_verify(secret, msg_id, ts, payload, 'V1,' || substr(header, 4)) AS uppercase_v1,
       webhook_verify(secret, msg_id, ts, payload, substr(header, 4)) AS no_version,
       webhook_verify(secret, msg_id, ts, payload, rtrim(header, '=')) AS unpadded
  FROM fresh;
-- Malformed headers are false, not errors.
SELECT webhook_verify(secret, msg_id, ts, payload, '') AS empty,
       webhook_verify(secret, msg_id, ts, payload, 'v1') AS version_only,
       webhook_verify(secret, msg_id, ts, payload, 'v1,') AS empty_signature,
       webhook_verify(secret, msg_id, ts, payload, left(header, 11)) AS truncated,
       webhook_verify(secret, msg_id, ts, payload, 'v1,not*base64') AS not_base64,
       webhook_verify(secret, msg_id, ts, payload, header || 'AAAA') AS trailing_garbage,
       webhook_verify(secret, msg_id, ts, payload,
                      'v1,' || encode(decode(substr(header, 4), 'base64') || '\x00'::bytea, 'base64')) AS one_byte_more
  FROM fresh;

-- The tolerance, both directions, bounds included: a timestamp offset_s seconds from now.
SELECT o.offset_s,
       webhook_verify(m.secret, m.msg_id, m.ts + o.offset_s, m.payload,
                      webhook_sign(m.secret, m.msg_id, m.ts + o.offset_s, m.payload)) AS default_300,
       webhook_verify(m.secret, m.msg_id, m.ts + o.offset_s, m.payload,
                      webhook_sign(m.secret, m.msg_id, m.ts + o.offset_s, m.payload), 60) AS tolerance_60,
       webhook_verify(m.secret, m.msg_id, m.ts + o.offset_s, m.payload,
                      webhook_sign(m.secret, m.msg_id, m.ts + o.offset_s, m.payload), 0) AS tolerance_0
  FROM fresh m,
       (VALUES (-86400), (-301), (-300), (-61), (-60), (-1), (0), (1), (60), (61), (300), (301), (86400)) o(offset_s)
 ORDER BY o.offset_s;
-- Timestamps at the ends of bigint neither overflow nor pass.
SELECT webhook_verify(secret, msg_id, t, payload, webhook_sign(secret, msg_id, t, payload), 2147483647) AS valid
  FROM fresh, (VALUES (-9223372036854775808), (9223372036854775807)) x(t);
-- Named arguments: "timestamp" is a keyword, so the caller quotes it.
SELECT webhook_verify(secret => secret, msg_id => msg_id, "timestamp" => ts, payload => payload,
                      signature_header => header, tolerance_seconds => 10) AS named_arguments
  FROM fresh;

------------------------------------------------------------------------------
-- webhook_generate_secret
------------------------------------------------------------------------------
SELECT webhook_generate_secret() ~ '^whsec_[A-Za-z0-9+/]{43}=$' AS well_formed;
SELECT length(decode(substr(webhook_generate_secret(), 7), 'base64')) AS key_bytes;
SELECT webhook_generate_secret() <> webhook_generate_secret() AS two_calls_differ;
SELECT count(DISTINCT s) AS distinct_secrets FROM (SELECT webhook_generate_secret() AS s FROM generate_series(1, 100)) g;
-- A generated secret signs and verifies, and verifies nothing signed under another one.
WITH g AS MATERIALIZED (
    SELECT webhook_generate_secret() AS secret, webhook_generate_secret() AS other,
           floor(extract(epoch FROM now()))::bigint AS ts
)
SELECT webhook_verify(secret, 'msg_1', ts, '{}', webhook_sign(secret, 'msg_1', ts, '{}')) AS round_trip,
       webhook_verify(secret, 'msg_1', ts, '{}', webhook_sign(other, 'msg_1', ts, '{}')) AS other_secret
  FROM g;

------------------------------------------------------------------------------
-- Errors (shown through regress.expect_error as "SQLSTATE: message")
------------------------------------------------------------------------------
-- NULL for each argument (22004).
SELECT regress.expect_error($$SELECT webhook_sign(NULL, 'msg_1', 1, '{}')$$);
SELECT regress.expect_error($$SELECT webhook_sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', NULL, 1, '{}')$$);
SELECT regress.expect_error($$SELECT webhook_sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', NULL, '{}')$$);
SELECT regress.expect_error($$SELECT webhook_sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', 1, NULL)$$);
SELECT regress.expect_error($$SELECT webhook_verify(NULL, 'msg_1', 1, '{}', 'v1,x')$$);
SELECT regress.expect_error($$SELECT webhook_verify('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', NULL, 1, '{}', 'v1,x')$$);
SELECT regress.expect_error($$SELECT webhook_verify('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', NULL, '{}', 'v1,x')$$);
SELECT regress.expect_error($$SELECT webhook_verify('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', 1, NULL, 'v1,x')$$);
SELECT regress.expect_error($$SELECT webhook_verify('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', 1, '{}', NULL)$$);
SELECT regress.expect_error($$SELECT webhook_verify('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', 1, '{}', 'v1,x', NULL)$$);
-- Malformed secrets (22023), for both functions: no prefix (the bare base64 the reference
-- libraries also accept is refused here), a prefix of the wrong case, not base64, the
-- URL-safe alphabet, an impossible length, and keys shorter than 24 or longer than 64 bytes.
SELECT s.label,
       regress.expect_error(format('SELECT webhook_sign(%L, %L, 1, %L)', s.secret, 'msg_1', '{}')) AS webhook_sign,
       regress.expect_error(format('SELECT webhook_verify(%L, %L, 1, %L, %L)', s.secret, 'msg_1', '{}', 'v1,x'))
           = regress.expect_error(format('SELECT webhook_sign(%L, %L, 1, %L)', s.secret, 'msg_1', '{}'))
           AS webhook_verify_same
  FROM (VALUES
    (1, 'no prefix', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
    (2, 'uppercase prefix', 'WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
    (3, 'empty', ''),
    (4, 'bad base64', 'whsec_MfKQ9r8GKYqrTwjU*D8ILPZIo2LaLaSw'),
    (5, 'inner space', 'whsec_MfKQ9r8GKYqrTwjU D8ILPZIo2LaLaSw'),
    (6, 'url-safe alphabet', 'whsec_C2FVsBQIhrscChlQIMV-b5sSYspob7oD'),
    (7, 'bad length', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwA'),
    (8, 'prefix only', 'whsec_'),
    (9, '23 bytes', 'whsec_' || encode(convert_to(repeat('k', 23), 'UTF8'), 'base64')),
    (10, '24 bytes', 'whsec_' || encode(convert_to(repeat('k', 24), 'UTF8'), 'base64')),
    (11, '64 bytes', 'whsec_' || translate(encode(convert_to(repeat('k', 64), 'UTF8'), 'base64'), E'\n', '')),
    (12, '65 bytes', 'whsec_' || translate(encode(convert_to(repeat('k', 65), 'UTF8'), 'base64'), E'\n', ''))
  ) s(n, label, secret)
 ORDER BY s.n;
-- A negative tolerance (22023); zero is allowed.
SELECT regress.expect_error($$SELECT webhook_verify('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', 1, '{}', 'v1,x', -1)$$);
SELECT regress.expect_error($$SELECT webhook_verify('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', 1, '{}', 'v1,x', 0)$$);
-- A secret never appears in an error message.
SELECT regress.expect_error($$SELECT webhook_sign('whsec_TopSecret*', 'msg_1', 1, '{}')$$) LIKE '%TopSecret%' AS leaks_secret;

-- After all these errors the backend is alive and well.
SELECT 1 AS alive;

-- Cleanup.
DROP VIEW fresh;
DROP TABLE vectors;
