/* xfc_pool.c — the pthread pool of xfc_pool.h. Build it with the model: cc -pthread model.c xfc_pool.c.
 *
 * One job at a time: parallel_for cuts [0, n) into as many ranges as there are threads (never more
 * than n) and posts them; the workers and the calling thread take ranges one by one under the lock
 * until none is left, and the caller waits until the last one running is finished. A condition
 * variable wakes the workers for a job and another wakes the caller when it is done; no thread
 * spins. */
#include "xfc_pool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct pool {
    xfc_executor ex;        /* first, so the executor is the pool */
    pthread_mutex_t turn;   /* held by the one parallel_for running */
    pthread_mutex_t lock;   /* guards everything below */
    pthread_cond_t posted;  /* a job was posted, or stop */
    pthread_cond_t finished;/* the job's last range is done */
    void (*fn)(void *arg, int64_t begin, int64_t end);
    void *arg;
    int64_t n;
    int ranges, next, running; /* ranges of the job, the next to take, those taken and not done */
    int stop;
    int nworkers;
    pthread_t *workers;
} pool;

/* Takes and runs ranges of the current job while any is left; called and returns with the lock held. */
static void run_ranges(pool *p) {
    while (p->next < p->ranges) {
        int r = p->next++;
        void (*fn)(void *, int64_t, int64_t) = p->fn;
        void *arg = p->arg;
        /* range r of `ranges` equal parts of [0, n), the remainder spread over the first ones */
        int64_t begin = p->n / p->ranges * r + (r < p->n % p->ranges ? r : p->n % p->ranges);
        int64_t end = begin + p->n / p->ranges + (r < p->n % p->ranges);
        p->running++;
        pthread_mutex_unlock(&p->lock);
        fn(arg, begin, end);
        pthread_mutex_lock(&p->lock);
        if (--p->running == 0 && p->next == p->ranges) pthread_cond_signal(&p->finished);
    }
}

static void *worker(void *arg) {
    pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->next >= p->ranges) pthread_cond_wait(&p->posted, &p->lock);
        if (p->stop) break;
        run_ranges(p);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void parallel_for(void *ctx, int64_t n, void (*fn)(void *arg, int64_t begin, int64_t end), void *arg) {
    pool *p = ctx;
    if (n <= 0) return;
    int ranges = n < p->ex.threads ? (int)n : p->ex.threads;
    if (ranges == 1) {
        fn(arg, 0, n);
        return;
    }
    pthread_mutex_lock(&p->turn);
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->ranges = ranges;
    p->next = 0;
    pthread_cond_broadcast(&p->posted);
    run_ranges(p);
    while (p->running > 0) pthread_cond_wait(&p->finished, &p->lock);
    p->ranges = p->next = 0;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->turn);
}

/* Stops the first `started` workers and frees the pool. */
static void pool_destroy(pool *p, int started) {
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->posted);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < started; i++) pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->finished);
    pthread_cond_destroy(&p->posted);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->turn);
    free(p->workers);
    free(p);
}

xfc_executor *xfc_pool_new(int threads) {
    if (threads < 1 || threads > 1024) return NULL;
    pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->workers = calloc((size_t)threads, sizeof *p->workers);
    if (!p->workers) {
        free(p);
        return NULL;
    }
    p->ex.ctx = p;
    p->ex.threads = threads;
    p->ex.parallel_for = parallel_for;
    p->nworkers = threads - 1;
    pthread_mutex_init(&p->turn, NULL);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->posted, NULL);
    pthread_cond_init(&p->finished, NULL);
    for (int i = 0; i < p->nworkers; i++)
        if (pthread_create(&p->workers[i], NULL, worker, p) != 0) {
            pool_destroy(p, i);
            return NULL;
        }
    return &p->ex;
}

void xfc_pool_free(xfc_executor *ex) {
    if (ex) pool_destroy(ex->ctx, ((pool *)ex->ctx)->nworkers);
}
