/* test_main.c — the bare-metal image of the firmware test: runs a model compiled by xfc for the
 * target on the reference inputs embedded in ref.c (tests/firmware/pb2c.py), compares output 0
 * with onnxruntime's output, and reports over semihosting:
 *
 *   max abs error 1.234e-06 over 8192 elements, stack 1234 bytes
 *   PASS            (or FAIL: ...; the exit status says the same: 0 pass, 1 mismatch, 2 error)
 *
 * It also measures the stack run() really used: the free stack is painted with a pattern before the
 * call and the lowest overwritten word found after it; check_firmware.sh compares that with the
 * bound `xfc report --target` computes. */
#include <stdint.h>

#include "model.h"
#include "semihost.h"

extern const int ref_num_inputs;
extern const void *const ref_inputs[];
extern const uint32_t ref_input_bytes[];
extern const float ref_expect[];
extern const uint32_t ref_expect_count;

extern uint32_t __bss_end[]; /* the lowest address the stack may grow to (mps2-an386.ld) */

#define TOLERANCE 1e-4f
#define PAINT 0x5AC3A55Au

static unsigned char arena[MODEL_ARENA_BYTES + 1] __attribute__((aligned(64)));
static float output[65536]; /* output 0; the size is checked below */

static int64_t numel(const xfc_tensor_info *t) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->shape[i];
    return n;
}

static int fail(const char *what) {
    sh_puts("FAIL: ");
    sh_puts(what);
    sh_puts("\n");
    return 2;
}

int main(void) {
    if (ref_num_inputs != MODEL_NUM_INPUTS) return fail("the reference has a different number of inputs");
    static const int esize[17] = {[1] = 4, [6] = 4, [7] = 8, [9] = 1, [2] = 1};
    for (int i = 0; i < MODEL_NUM_INPUTS; i++) {
        const xfc_tensor_info *t = &model_inputs[i];
        if (t->dtype < 0 || t->dtype > 16 || !esize[t->dtype] || numel(t) * esize[t->dtype] != ref_input_bytes[i])
            return fail("a reference input does not match the model's input");
    }
    if (MODEL_NUM_OUTPUTS != 1 || model_outputs[0].dtype != 1 || numel(&model_outputs[0]) != ref_expect_count ||
        ref_expect_count > sizeof output / sizeof output[0])
        return fail("the reference output does not match the model's only float output");

    /* paint the free stack, from the end of bss up to a little below the current stack pointer */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __bss_end; p < sp - 16; p++) *p = PAINT;

    void *outputs[1] = {output};
    int rc = model_run(arena, ref_inputs, outputs);

    uint32_t *low = __bss_end;
    while (low < sp && *low == PAINT) low++;
    if (rc != XFC_OK) return fail("model_run did not return XFC_OK");

    float max_err = 0;
    int nan = 0;
    for (uint32_t i = 0; i < ref_expect_count; i++) {
        float e = output[i] - ref_expect[i];
        e = e < 0 ? -e : e;
        if (e != e) nan = 1;
        if (e > max_err) max_err = e;
    }
    sh_puts("max abs error ");
    sh_put_float(max_err, 3);
    sh_puts(" over ");
    sh_put_int((long)ref_expect_count);
    sh_puts(" elements, stack ");
    sh_put_int((long)((char *)sp - (char *)low));
    sh_puts(" bytes\n");
    if (nan || max_err > TOLERANCE) {
        sh_puts("FAIL: error above 1e-4\n");
        return 1;
    }
    sh_puts("PASS\n");
    return 0;
}
