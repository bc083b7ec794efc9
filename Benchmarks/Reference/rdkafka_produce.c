/*
 * rdkafka_produce: librdkafka alone, for scale next to the Kafka benchmark.
 *
 * Produces N messages shaped like the relay's (1112-byte values, 36-byte keys, H of the
 * relay's standard headers with typical values) with an idempotent producer and the
 * murmur2_random partitioner, in batches of 500 each followed by rd_kafka_flush — as the
 * relay's Kafka transport does — and prints msgs/s and this process's CPU per message
 * (librdkafka's producer and broker threads included).
 *
 *   rdkafka_produce BOOTSTRAP N HEADERS      (topic "outbox", as Benchmarks/run-kafka.sh creates it)
 *
 * Build: gcc -O2 -o rdkafka_produce rdkafka_produce.c $(pkg-config --cflags --libs rdkafka)
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
static double cpu(void){struct rusage u;getrusage(RUSAGE_SELF,&u);return u.ru_utime.tv_sec+u.ru_utime.tv_usec/1e6+u.ru_stime.tv_sec+u.ru_stime.tv_usec/1e6;}
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static void dr(rd_kafka_t*rk,const rd_kafka_message_t*m,void*o){(void)rk;(void)o;if(m->err){fprintf(stderr,"dr %s\n",rd_kafka_err2str(m->err));exit(1);}}
int main(int argc,char**argv){
  const char*bootstrap=argv[1]; int n=atoi(argv[2]); int h=atoi(argv[3]);
  char err[512]; rd_kafka_conf_t*c=rd_kafka_conf_new();
  rd_kafka_conf_set(c,"bootstrap.servers",bootstrap,err,sizeof err);
  rd_kafka_conf_set(c,"enable.idempotence","true",err,sizeof err);
  rd_kafka_conf_set(c,"partitioner","murmur2_random",err,sizeof err);
  rd_kafka_conf_set_dr_msg_cb(c,dr);
  rd_kafka_t*rk=rd_kafka_new(RD_KAFKA_PRODUCER,c,err,sizeof err);
  rd_kafka_topic_t*t=rd_kafka_topic_new(rk,"outbox",NULL);
  char value[1112]; memset(value,'x',sizeof value);
  const char*names[]={"event_id","event_type","aggregate_root_id","aggregate_root_id_type","aggregate_root_type","aggregate_root_version","time_of_recording"};
  const char*values[]={"25c29fdd-f0cf-4112-a421-9e1bfc3b78dd","acme.shop.orders.order_was_placed","b230fe0e-6e36-47cc-85ea-c50eb21ec363","acme.shop.orders.order_id","acme.shop.orders.order","7","2024-03-14T05:04:50.163498Z"};
  /* warm up: metadata */
  rd_kafka_produce(t,RD_KAFKA_PARTITION_UA,RD_KAFKA_MSG_F_COPY,value,10,"k",1,NULL); rd_kafka_flush(rk,5000);
  double c0=cpu(),t0=now();
  char key[40];
  for(int i=0;i<n;){
    for(int b=0;b<500&&i<n;b++,i++){
      snprintf(key,sizeof key,"b230fe0e-6e36-47cc-85ea-%012d",i%30000);
      rd_kafka_headers_t*hs=h?rd_kafka_headers_new(h):NULL;
      for(int k=0;k<h;k++) rd_kafka_header_add(hs,names[k%7],-1,values[k%7],-1);
      rd_kafka_vu_t vu[5]; int m=0;
      vu[m].vtype=RD_KAFKA_VTYPE_RKT; vu[m++].u.rkt=t;
      vu[m].vtype=RD_KAFKA_VTYPE_VALUE; vu[m].u.mem.ptr=value; vu[m++].u.mem.size=sizeof value;
      vu[m].vtype=RD_KAFKA_VTYPE_KEY; vu[m].u.mem.ptr=key; vu[m++].u.mem.size=36;
      if(hs){vu[m].vtype=RD_KAFKA_VTYPE_HEADERS; vu[m++].u.headers=hs;}
      rd_kafka_error_t*e=rd_kafka_produceva(rk,vu,m); if(e){fprintf(stderr,"%s\n",rd_kafka_error_string(e));return 1;}
    }
    rd_kafka_flush(rk,10000);
  }
  double c1=cpu(),t1=now();
  printf("headers=%d msgs=%d %.0f msgs/s CPU %.2f us/msg\n",h,n,n/(t1-t0),(c1-c0)*1e6/n);
  rd_kafka_topic_destroy(t); rd_kafka_destroy(rk); return 0;
}
