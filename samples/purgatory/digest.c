#include "purgatory.h"

unsigned long digest_seed = 0xcbf29ce484222325UL;

/* FNV-1a over every loaded region, compared with the digest the loader stored. */
int verify_digest(const struct purgatory_region *regions, int count, const unsigned char *expected)
{
	unsigned long hash = digest_seed;
	for (int i = 0; i < count; i++) {
		const unsigned char *p = (const unsigned char *)regions[i].start;
		for (unsigned long n = 0; n < regions[i].len; n++) {
			hash ^= p[n];
			hash *= 0x100000001b3UL;
		}
	}
	int diff = 0;
	for (int i = 0; i < DIGEST_SIZE; i++)
		diff |= (unsigned char)(hash >> (8 * i)) ^ expected[i];
	return diff;
}
