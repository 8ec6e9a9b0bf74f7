/* main.c — a tiny Llama-style decoder, compiled by xfc for a Cortex-M4, running bare metal: it feeds
 * 16 token ids through the model and prints the most likely next token after each position over
 * semihosting. The model's code and weights are in out/llama.c (generated: see the Makefile); this
 * file only supplies the memory and the input, as firmware would. */
#include <stdint.h>

#include "llama.h"
#include "semihost.h"

/* The arena: scratch memory for every intermediate, its size fixed at compile time. It is the one
 * large RAM buffer the model needs; the weights stay in flash. */
static unsigned char arena[LLAMA_ARENA_BYTES] __attribute__((aligned(64)));
static float logits[16 * 512];

int main(void) {
    /* 16 token ids (the model's vocabulary has 512 entries) */
    static const int64_t tokens[16] = {1, 15, 87, 230, 7, 451, 12, 99, 300, 2, 64, 128, 256, 3, 5, 8};
    const void *inputs[LLAMA_NUM_INPUTS] = {tokens};
    void *outputs[LLAMA_NUM_OUTPUTS] = {logits};

    int rc = llama_run(arena, inputs, outputs);
    if (rc != XFC_OK) {
        sh_puts("llama_run failed: ");
        sh_put_int(rc);
        sh_puts("\n");
        return 1;
    }
    sh_puts("arena ");
    sh_put_int(LLAMA_ARENA_BYTES);
    sh_puts(" bytes\n");
    for (int t = 0; t < 16; t++) {
        const float *row = &logits[t * 512];
        int best = 0;
        for (int v = 1; v < 512; v++)
            if (row[v] > row[best]) best = v;
        sh_puts("position ");
        sh_put_int(t);
        sh_puts(": token ");
        sh_put_int((long)tokens[t]);
        sh_puts(" -> next token ");
        sh_put_int(best);
        sh_puts(" (logit ");
        sh_put_float(row[best], 4);
        sh_puts(")\n");
    }
    return 0;
}
