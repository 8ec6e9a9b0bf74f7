/* semihost.h — console output and exit through semihosting: the program asks the debugger (here
 * QEMU's -semihosting) to do the I/O. No UART driver and no C library needed, which keeps the
 * example about the model. On a board without a debugger attached, replace these with your UART
 * code: a semihosting call with nobody listening stops the core. */
#ifndef SEMIHOST_H
#define SEMIHOST_H

void sh_puts(const char *s);          /* writes s as is (no newline added) */
void sh_put_int(long v);              /* decimal */
void sh_put_float(float x, int digits); /* scientific, `digits` after the point: -1.234e-05 */
_Noreturn void sh_exit(int status);   /* ends the program; QEMU exits with this status */

#endif
