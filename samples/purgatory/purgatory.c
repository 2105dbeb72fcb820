#include "purgatory.h"

struct purgatory_region purgatory_regions[PURGATORY_REGIONS];
unsigned char purgatory_digest[DIGEST_SIZE];

static volatile int digest_failed;

void purgatory(void)
{
	if (digest_seed == 0 || verify_digest(purgatory_regions, PURGATORY_REGIONS, purgatory_digest) != 0) {
		digest_failed = 1;
		for (;;)
			;
	}
}
