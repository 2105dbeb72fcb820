/*
 * Force-included by PicGuard (-include picguard/hidden.h) when PicHiddenExterns is true.
 * Makes every following declaration hidden, extern declarations included, so the compiler
 * reaches them PC-relative instead of through the GOT. -fvisibility=hidden alone only
 * covers definitions. The same idea as the Linux kernel's include/linux/hidden.h.
 */
#pragma GCC visibility push(hidden)
