/* read_text.h — what the golden and round-trip runners share. */
#ifndef XF_READ_TEXT_H
#define XF_READ_TEXT_H
/* The whole file at path, NUL-terminated, in malloc'ed memory; NULL when it cannot be opened. */
char *xf_read_text(const char *path);
#endif
