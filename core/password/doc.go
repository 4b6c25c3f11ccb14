// Package password hashes and verifies passwords with Argon2id (RFC 9106), in the PHC
// string format that the reference implementation's argon2 command, libsodium and
// passlib write and read:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// where m is the memory in KiB, t the number of passes, p the parallelism, and salt and
// hash are base64 without padding (standard alphabet). Hash makes such strings, Verify
// checks a password against one in constant time, and Check reads the parameters of one.
//
// # What is accepted
//
// Only Argon2id version 19 (0x13), with m, t and p in that order and nothing else:
// Argon2i and Argon2d, version 16, the optional keyid and data parameters, padded or
// non-canonical base64, numbers with a sign or leading zeros, white space and anything
// after the hash are refused with ErrMalformedHash. The parameters must lie between a
// floor and a ceiling, checked before any hashing:
//
//   - floor (ErrWeakHash): Memory >= 7168 KiB and Memory*Time >= 36864 (the least of
//     OWASP's Argon2id configurations, 7 MiB with 5 passes, counted as memory times
//     passes), Threads >= 1, a salt of at least 8 bytes and a hash of at least 16;
//   - ceiling (ErrCostlyHash): Memory <= 1 GiB (1048576 KiB), Time <= 16,
//     Threads <= 16, a salt of at most 64 bytes and a hash of at most 128. A stored
//     hash is data; the ceiling keeps one that was tampered with or mistyped from costing
//     the server a minute or its memory at each sign-in.
//
// # What is not done
//
// Passwords are hashed as the bytes they are: no Unicode normalization, no trimming, no
// length limit beyond what the caller sets. There is no pepper (Argon2's secret input)
// and no rehash-on-login hint: compare Check's parameters with the ones wanted to find
// hashes worth upgrading at the user's next sign-in.
package password
