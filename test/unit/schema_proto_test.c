/* schema_proto_test: Kubernetes protobuf bodies decode to the JSON a JSON client would send. */
#include "test/unit/obj-testlib.h"

#include "core/schema/schema.h"
#include "core/util/util.h"
#include "test/unit/schema_proto_fixtures.h"

/*
 * Bodies are written in a small notation, compiled to protobuf by pb() below:
 *   N:'text'   field N, bytes (\xHH, \' and \\ escapes)     N=123   field N, varint (may be < 0)
 *   N{ ... }   field N, a message                          N[1 2]  field N, packed varints
 *   N!7        field N, fixed64     N%7  fixed32           N< N>   start and end of a group N
 * so that a Deployment reads "1{1:'web'} 2{1=3}" (metadata.name web, spec.replicas 3).
 */
static void varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		buf_addc(b, (char)(v | 0x80));
		v >>= 7;
	}
	buf_addc(b, (char)v);
}

static void tag(struct buf *b, unsigned long num, int wt)
{
	varint(b, ((uint64_t)num << 3) | (uint64_t)wt);
}

static void len_prefixed(struct buf *b, unsigned long num, const struct buf *m)
{
	tag(b, num, 2);
	varint(b, m->len);
	buf_add(b, m->data ? m->data : "", m->len);
}

static void items(struct buf *b, const char **sp, char end);

static void item(struct buf *b, const char **sp)
{
	const char *s = *sp;
	char *e;
	unsigned long num = strtoul(s, &e, 10);
	if (e == s)
		fail_msg("notation: field number expected at \"%s\"", s);
	s = e;
	char op = *s++;
	struct buf m = { 0 };
	switch (op) {
	case ':':
		if (*s++ != '\'')
			fail_msg("notation: quote expected at \"%s\"", s - 1);
		while (*s && *s != '\'') {
			if (*s == '\\' && s[1] == 'x') {
				char hex[3] = { s[2], s[3], 0 };
				buf_addc(&m, (char)strtoul(hex, NULL, 16));
				s += 4;
			} else if (*s == '\\') {
				buf_addc(&m, s[1]);
				s += 2;
			} else
				buf_addc(&m, *s++);
		}
		if (*s++ != '\'')
			fail_msg("notation: unterminated string");
		len_prefixed(b, num, &m);
		break;
	case '=':
		tag(b, num, 0);
		varint(b, (uint64_t)strtoll(s, &e, 0));
		s = e;
		break;
	case '!':
	case '%': {
		uint64_t v = (uint64_t)strtoll(s, &e, 0);
		s = e;
		tag(b, num, op == '!' ? 1 : 5);
		for (int i = 0; i < (op == '!' ? 8 : 4); i++)
			buf_addc(b, (char)(v >> (8 * i)));
		break;
	}
	case '{':
		items(&m, &s, '}');
		len_prefixed(b, num, &m);
		break;
	case '[':
		for (;;) {
			while (*s == ' ')
				s++;
			if (*s == ']') {
				s++;
				break;
			}
			varint(&m, (uint64_t)strtoll(s, &e, 0));
			if (e == s)
				fail_msg("notation: number expected at \"%s\"", s);
			s = e;
		}
		len_prefixed(b, num, &m);
		break;
	case '<':
	case '>':
		tag(b, num, op == '<' ? 3 : 4);
		break;
	default:
		fail_msg("notation: unknown operator '%c'", op);
	}
	buf_free(&m);
	*sp = s;
}

static void items(struct buf *b, const char **sp, char end)
{
	const char *s = *sp;
	for (;;) {
		while (*s == ' ' || *s == '\n')
			s++;
		if (*s == end) {
			if (end)
				s++;
			break;
		}
		if (!*s)
			fail_msg("notation: missing '%c'", end);
		item(b, &s);
	}
	*sp = s;
}

/* A whole body: the magic, then the notation (usually the envelope). */
static void pb(struct buf *b, const char *notation)
{
	buf_reset(b);
	buf_add(b, "k8s", 4);
	items(b, &notation, '\0');
}

/* The envelope around an object of apiVersion/kind, written in the notation. */
static void body(struct buf *b, const char *av, const char *kind, const char *object)
{
	struct buf n = { 0 };
	buf_printf(&n, "1{1:'%s' 2:'%s'} 2{%s} 3:'' 4:''", av, kind, object);
	pb(b, n.data);
	buf_free(&n);
}

static cJSON *decode(const char *av, const char *kind, const char *object)
{
	struct buf b = { 0 };
	struct err e = { 0 };
	cJSON *out = NULL;
	body(&b, av, kind, object);
	int rc = schema_from_protobuf(b.data, b.len, NULL, NULL, &out, &e);
	buf_free(&b);
	if (rc < 0)
		fail_msg("decode %s: %s", kind, e.msg);
	return out;
}

#define assert_decodes(av, kind, object, want)                                                     \
	do {                                                                                       \
		cJSON *got_ = decode(av, kind, object);                                            \
		assert_json(got_, want);                                                           \
		cJSON_Delete(got_);                                                                \
	} while (0)

/* Decodes raw bytes that must fail with rc, the message containing `has`. */
static void assert_fails(const void *p, size_t n, int rc, const char *has)
{
	struct err e = { 0 };
	cJSON *out = (cJSON *)1;
	int got = schema_from_protobuf(p, n, NULL, NULL, &out, &e);
	if (got != rc || out != NULL || !strstr(e.msg, has))
		fail_msg("want %d containing \"%s\", got %d: \"%s\"", rc, has, got, e.msg);
}

static void assert_body_fails(const char *notation, int rc, const char *has)
{
	struct buf b = { 0 };
	pb(&b, notation);
	assert_fails(b.data, b.len, rc, has);
	buf_free(&b);
}

static void test_kubectl_create_bodies_decode_to_the_json_kubectl_prints(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(proto_fixtures); i++) {
		const struct proto_fixture *f = &proto_fixtures[i];
		cJSON *got = NULL, *want = NULL;
		struct err e = { 0 };
		if (schema_from_protobuf(f->pb, f->len, NULL, NULL, &got, &e) < 0)
			fail_msg("kubectl create %s: %s", f->name, e.msg);
		assert_int_equal(obj_parse(f->json, strlen(f->json), &want, &e), 0);
		if (!obj_equal(got, want)) {
			const char *g = S(got);
			fail_msg("kubectl create %s:\n got %s\nwant %s", f->name, g, S(want));
		}
		cJSON_Delete(got);
		cJSON_Delete(want);
	}
}

static void test_deployment_with_probes_env_and_resources(void **state)
{
	assert_decodes(
	    "apps/v1", "Deployment",
	    "1{1:'web' 3:'default' 11{1:'app' 2:'web'} 8{}}"
	    "2{1=2 2{1{1:'app' 2:'web'}}"
	    "  3{1{11{1:'app' 2:'web'}}"
	    "    2{2{1:'web' 2:'nginx:1.27'"
	    "        6{1:'http' 3=8080 4:'TCP'} 6{3=9090}"
	    "        7{1:'MODE' 2:'prod'} 7{1:'CFG' 3{3{1{1:'app-config'} 2:'mode' 3=1}}}"
	    "        8{1{1:'cpu' 2{1:'500m'}} 1{1:'memory' 2{1:'128Mi'}} 2{1:'cpu' 2{1:'250m'}}}"
	    "        10{1{2{1:'/healthz' 2{1=1 3:'http'}}} 2=5 3=0}"
	    "        11{1{3{1{2=8080}}} 4=10}"
	    "        14:''}"
	    "      3:'Always' 4=30}}"
	    "  4{1:'RollingUpdate' 2{1{1=1 3:'25%'} 2{2=1}}}}"
	    "3{}",
	    "{'kind':'Deployment','apiVersion':'apps/v1','metadata':{'name':'web',"
	    "'namespace':'default','labels':{'app':'web'},'creationTimestamp':null},"
	    "'spec':{'replicas':2,'selector':{'matchLabels':{'app':'web'}},"
	    "'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{"
	    "'name':'web','image':'nginx:1.27',"
	    "'ports':[{'name':'http','containerPort':8080,'protocol':'TCP'},"
	    "{'containerPort':9090}],"
	    "'env':[{'name':'MODE','value':'prod'},{'name':'CFG','valueFrom':{"
	    "'configMapKeyRef':{'name':'app-config','key':'mode','optional':true}}}],"
	    "'resources':{'limits':{'cpu':'500m','memory':'128Mi'},'requests':{'cpu':'250m'}},"
	    "'livenessProbe':{'httpGet':{'path':'/healthz','port':'http'},"
	    "'initialDelaySeconds':5},"
	    "'readinessProbe':{'tcpSocket':{'port':8080},'periodSeconds':10}}],"
	    "'restartPolicy':'Always','terminationGracePeriodSeconds':30}},"
	    "'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxUnavailable':'25%',"
	    "'maxSurge':1}}},'status':{}}");
}

static void test_configmap_data_and_binary_data(void **state)
{
	assert_decodes("v1", "ConfigMap",
	               "1{1:'conf'} 2{1:'a' 2:'1'} 2{1:'empty'} 2{1:'a' 2:'again'}"
	               "3{1:'blob' 2:'\\x00\\x01\\xff'} 3{1:'e'} 4=1",
	               "{'kind':'ConfigMap','apiVersion':'v1','metadata':{'name':'conf'},"
	               "'data':{'a':'again','empty':''},'binaryData':{'blob':'AAH/','e':''},"
	               "'immutable':true}");
}

static void test_secret_values_are_base64(void **state)
{
	assert_decodes("v1", "Secret",
	               "1{1:'creds'} 2{1:'u' 2:'a'} 2{1:'p' 2:'ab'} 2{1:'q' 2:'abc'}"
	               "2{1:'r' 2:'abcd'} 3:'Opaque' 4{1:'plain' 2:'text'}",
	               "{'kind':'Secret','apiVersion':'v1','metadata':{'name':'creds'},"
	               "'data':{'u':'YQ==','p':'YWI=','q':'YWJj','r':'YWJjZA=='},"
	               "'type':'Opaque','stringData':{'plain':'text'}}");
}

static void test_service_target_ports_are_numbers_or_names(void **state)
{
	assert_decodes("v1", "Service",
	               "1{1:'web'} 2{1{1:'http' 2:'TCP' 3=80 4{1=1 3:'http'}}"
	               "  1{2:'TCP' 3=443 4{2=8443}} 1{3=53 4{}}"
	               "  2{1:'app' 2:'web'} 4:'ClusterIP' 3:''} 3{1{}}",
	               "{'kind':'Service','apiVersion':'v1','metadata':{'name':'web'},"
	               "'spec':{'ports':[{'name':'http','protocol':'TCP','port':80,"
	               "'targetPort':'http'},{'protocol':'TCP','port':443,'targetPort':8443},"
	               "{'port':53,'targetPort':0}],'selector':{'app':'web'},"
	               "'type':'ClusterIP'},'status':{'loadBalancer':{}}}");
}

static void test_namespace(void **state)
{
	assert_decodes("v1", "Namespace", "1{1:'team-a' 11{1:'team' 2:'a'}} 2{1:'kubernetes'} 3{}",
	               "{'kind':'Namespace','apiVersion':'v1','metadata':{'name':'team-a',"
	               "'labels':{'team':'a'}},'spec':{'finalizers':['kubernetes']},"
	               "'status':{}}");
}

static void test_job_with_packed_and_unpacked_exit_codes(void **state)
{
	assert_decodes("batch/v1", "Job",
	               "1{1:'once'} 2{1=1 2=3 7=0"
	               "  6{2{2{1:'c' 2:'busybox' 3:'echo' 3:'hi'} 3:'Never'}} 10=0"
	               "  11{1{1:'FailJob' 2{2:'In' 3=1 3=2 3[3 4 -1]}}}}",
	               "{'kind':'Job','apiVersion':'batch/v1','metadata':{'name':'once'},"
	               "'spec':{'parallelism':1,'completions':3,'backoffLimit':0,"
	               "'template':{'spec':{'containers':[{'name':'c','image':'busybox',"
	               "'command':['echo','hi']}],'restartPolicy':'Never'}},'suspend':false,"
	               "'podFailurePolicy':{'rules':[{'action':'FailJob','onExitCodes':{"
	               "'operator':'In','values':[1,2,3,4,-1]}}]}}}");
}

static void test_cronjob(void **state)
{
	assert_decodes(
	    "batch/v1", "CronJob",
	    "1{1:'tick'} 2{1:'*/5 * * * *' 3:'Forbid' 4=0"
	    "  5{1{1:'tick'} 2{6{2{2{1:'c' 2:'busybox'} 3:'OnFailure'}}}} 6=3 8:'Etc/UTC'}",
	    "{'kind':'CronJob','apiVersion':'batch/v1','metadata':{'name':'tick'},"
	    "'spec':{'schedule':'*/5 * * * *','concurrencyPolicy':'Forbid','suspend':false,"
	    "'jobTemplate':{'metadata':{'name':'tick'},'spec':{'template':{'spec':{"
	    "'containers':[{'name':'c','image':'busybox'}],'restartPolicy':'OnFailure'}}}},"
	    "'successfulJobsHistoryLimit':3,'timeZone':'Etc/UTC'}}");
}

static void test_eviction_carries_its_delete_options(void **state)
{
	assert_decodes("policy/v1", "Eviction",
	               "1{1:'web-0' 3:'default'} 2{1=0 2{1:'uid-1'} 4:'Background' 5:'All'}",
	               "{'kind':'Eviction','apiVersion':'policy/v1','metadata':{'name':'web-0',"
	               "'namespace':'default'},'deleteOptions':{'gracePeriodSeconds':0,"
	               "'preconditions':{'uid':'uid-1'},'propagationPolicy':'Background',"
	               "'dryRun':['All']}}");
}

static void test_csr_approval_with_conditions_and_extra(void **state)
{
	assert_decodes(
	    "certificates.k8s.io/v1", "CertificateSigningRequest",
	    "1{1:'node-csr' 6:'42'}"
	    "2{1:'CSR' 7:'kubernetes.io/kube-apiserver-client' 5:'client auth'"
	    "  5:'digital signature' 2:'alice' 4:'devs' 6{1:'scopes' 2{1:'a' 1:'b'}} 8=3600}"
	    "3{1{1:'Approved' 6:'True' 2:'KubectlApprove' 3:'approved by kubectl'"
	    "  4{1=1732500000} 5{1=1732500000 2=500000000}}}",
	    "{'kind':'CertificateSigningRequest','apiVersion':'certificates.k8s.io/v1',"
	    "'metadata':{'name':'node-csr','resourceVersion':'42'},"
	    "'spec':{'request':'Q1NS','signerName':'kubernetes.io/kube-apiserver-client',"
	    "'usages':['client auth','digital signature'],'username':'alice',"
	    "'groups':['devs'],'extra':{'scopes':['a','b']},'expirationSeconds':3600},"
	    "'status':{'conditions':[{'type':'Approved','status':'True',"
	    "'reason':'KubectlApprove','message':'approved by kubectl',"
	    "'lastUpdateTime':'2024-11-25T02:00:00Z',"
	    "'lastTransitionTime':'2024-11-25T02:00:00Z'}]}}");
}

static void test_times_are_rfc3339_and_micro_times_have_microseconds(void **state)
{
	assert_decodes("coordination.k8s.io/v1", "Lease",
	               "1{1:'node-1' 3:'kube-node-lease' 8{1=951782400}} 2{1:'node-1' 2=40"
	               "  3{1=0} 4{1=1732500000 2=123456789} 5=0}",
	               "{'kind':'Lease','apiVersion':'coordination.k8s.io/v1','metadata':{"
	               "'name':'node-1','namespace':'kube-node-lease',"
	               "'creationTimestamp':'2000-02-29T00:00:00Z'},'spec':{"
	               "'holderIdentity':'node-1','leaseDurationSeconds':40,"
	               "'acquireTime':'1970-01-01T00:00:00.000000Z',"
	               "'renewTime':'2024-11-25T02:00:00.123456Z','leaseTransitions':0}}");
	/* Negative nanoseconds borrow from the seconds; the ends of the RFC 3339 range. */
	assert_decodes("coordination.k8s.io/v1", "Lease",
	               "2{3{2=-1} 4{1=253402300799 2=999999999}} 1{8{1=-62135596800}}",
	               "{'kind':'Lease','apiVersion':'coordination.k8s.io/v1','metadata':{"
	               "'creationTimestamp':'0001-01-01T00:00:00Z'},'spec':{"
	               "'acquireTime':'1969-12-31T23:59:59.999999Z',"
	               "'renewTime':'9999-12-31T23:59:59.999999Z'}}");
}

static void test_raw_extension_is_embedded_json(void **state)
{
	assert_decodes("apps/v1", "ControllerRevision",
	               "1{1:'rev'} 2{1:'{\"spec\":{\"a\":[1,true]}}'} 3=2",
	               "{'kind':'ControllerRevision','apiVersion':'apps/v1','metadata':{"
	               "'name':'rev'},'data':{'spec':{'a':[1,true]}},'revision':2}");
	assert_decodes("apps/v1", "ControllerRevision", "2{} 3=1",
	               "{'kind':'ControllerRevision','apiVersion':'apps/v1','data':null,"
	               "'revision':1}");
}

static void test_zeros_stay_where_go_json_keeps_them(void **state)
{
	/* replicas is a pointer: 0 is not unset. minReadySeconds and paused are plain omitempty
	 * fields, containerPort has no omitempty, name is omitempty: Go writes all of them. */
	assert_decodes("apps/v1", "Deployment",
	               "1{1:'' 2:'web-' 7=0} 2{1=0 5=0 7=0 3{2{2{1:'' 6{3=0 2=0}}}}}",
	               "{'kind':'Deployment','apiVersion':'apps/v1','metadata':{"
	               "'generateName':'web-'},'spec':{'replicas':0,'template':{'spec':{"
	               "'containers':[{'name':'','ports':[{'containerPort':0}]}]}}}}");
	/* A later zero of an omitempty field unsets what an earlier occurrence set. */
	assert_decodes("apps/v1", "Deployment", "2{5=7 5=0 1=4 1=0}",
	               "{'kind':'Deployment','apiVersion':'apps/v1','spec':{'replicas':0}}");
}

static void test_unknown_fields_of_any_wire_type_are_skipped(void **state)
{
	assert_decodes("v1", "Namespace",
	               "1{1:'x' 99=5 98!7 97%1 96:'junk' 95< 1=1 2< 3:'a' 2> 95> 94{1=1}}"
	               "50{1:'y'} 2{2=9}",
	               "{'kind':'Namespace','apiVersion':'v1','metadata':{'name':'x'},"
	               "'spec':{}}");
}

static void test_repeated_fields_merge_as_protobuf_does(void **state)
{
	/* Scalars: the last wins. Messages merge. Lists append. Map entries replace. */
	assert_decodes("apps/v1", "Deployment",
	               "1{1:'a' 11{1:'k' 2:'1'}} 1{1:'b' 11{1:'k' 2:'2'} 11{1:'j' 2:'3'}}"
	               "2{1=1 3{2{2{1:'a'}}}} 2{1=5 6=2 3{2{2{1:'b'}}}}",
	               "{'kind':'Deployment','apiVersion':'apps/v1','metadata':{'name':'b',"
	               "'labels':{'k':'2','j':'3'}},'spec':{'replicas':5,"
	               "'revisionHistoryLimit':2,'template':{'spec':{'containers':["
	               "{'name':'a'},{'name':'b'}]}}}}");
}

static void test_int64_and_negative_values(void **state)
{
	assert_decodes("v1", "Pod", "2{14{4=1 4=-2 4[3 4294967296] 2=-1} 25=-7 4=9007199254740992}",
	               "{'kind':'Pod','apiVersion':'v1','spec':{'securityContext':{"
	               "'supplementalGroups':[1,-2,3,4294967296],'runAsUser':-1},"
	               "'priority':-7,'terminationGracePeriodSeconds':9007199254740992}}");
	/* int32 fields keep the low 32 bits, as Go's decoder does. */
	assert_decodes("v1", "Pod", "2{25=4294967297}",
	               "{'kind':'Pod','apiVersion':'v1','spec':{'priority':1}}");
}

static void test_volume_sources_are_inline(void **state)
{
	assert_decodes("v1", "Pod",
	               "2{1{1:'cfg' 2{19{1{1:'app-config'} 3=420}}} 1{1:'tmp' 2{2{}}}}",
	               "{'kind':'Pod','apiVersion':'v1','spec':{'volumes':[{'name':'cfg',"
	               "'configMap':{'name':'app-config','defaultMode':420}},"
	               "{'name':'tmp','emptyDir':{}}]}}");
}

static void test_envelope_kind_defaults_to_the_endpoint(void **state)
{
	struct buf b = { 0 };
	struct err e = { 0 };
	cJSON *out = NULL;
	pb(&b, "2{1{1:'x'}}");
	assert_int_equal(schema_from_protobuf(b.data, b.len, "v1", "ConfigMap", &out, &e), 0);
	assert_json(out, "{'kind':'ConfigMap','apiVersion':'v1','metadata':{'name':'x'}}");
	cJSON_Delete(out);
	assert_fails(b.data, b.len, -EBADMSG, "Kind");
	pb(&b, "1{2:'ConfigMap'} 2{}");
	assert_fails(b.data, b.len, -EBADMSG, "apiVersion");
	buf_free(&b);
}

static void test_delete_options_of_any_group_version(void **state)
{
	assert_decodes("apps/v1", "DeleteOptions", "1=30 4:'Orphan' 5:'All'",
	               "{'kind':'DeleteOptions','apiVersion':'apps/v1','gracePeriodSeconds':30,"
	               "'propagationPolicy':'Orphan','dryRun':['All']}");
}

static void test_kinds_that_are_not_served_are_enoent(void **state)
{
	assert_body_fails("1{1:'v1' 2:'Frobnicator'} 2{}", -ENOENT,
	                  "no kind \"Frobnicator\" is registered for version \"v1\"");
	assert_body_fails("1{1:'apps/v1' 2:'ConfigMap'} 2{}", -ENOENT, "ConfigMap");
	assert_body_fails("1{1:'policy/v1' 2:'PodDisruptionBudget'} 2{}", -ENOENT, "Pod");
}

static void test_malformed_bodies_are_errors(void **state)
{
	assert_fails("", 0, -EBADMSG, "k8s");
	assert_fails("k8s", 3, -EBADMSG, "k8s");
	assert_fails("{\"kind\":\"Pod\"}", 14, -EBADMSG, "k8s");
	assert_fails("K8s\0\x12\x00", 6, -EBADMSG, "k8s");
	assert_fails("k8s\0", 4, -EBADMSG, "empty body");
	assert_fails("k8s\0\x0a", 5, -EBADMSG, "unexpected end of data");
	assert_fails("k8s\0\x12\x05"
	             "ab",
	             8, -EBADMSG, "runs past the end");
	assert_fails("k8s\0\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 15, -EBADMSG,
	             "runs past the end");
	assert_fails("k8s\0\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 16, -EBADMSG,
	             "longer than 10 bytes");
	assert_fails("k8s\0\x08\xff\xff", 7, -EBADMSG, "unexpected end of data");
	assert_fails("k8s\0\x0f\x00", 6, -EBADMSG, "illegal wire type 7");
	assert_fails("k8s\0\x00\x00", 6, -EBADMSG, "illegal field number 0");
	assert_fails("k8s\0\x10\x01", 6, -EBADMSG, "wire type varint where bytes belongs");
	assert_body_fails("1{1:'apps/v1' 2:'Deployment'} 2{2{1:'x'}}", -EBADMSG,
	                  "spec.replicas: wire type bytes where varint belongs");
	assert_body_fails("1{1:'apps/v1' 2:'Deployment'} 2{1=1}", -EBADMSG,
	                  "metadata: wire type varint where bytes belongs");
	assert_body_fails("1{1:'v1' 2:'ConfigMap'} 2{2{1:'k' 2:'a\\x00b'}}", -EBADMSG,
	                  "data: string contains a NUL byte");
	assert_body_fails("1{1:'v1' 2:'ConfigMap'} 2{2{1:'k\\x00' 2:'v'}}", -EBADMSG, "NUL");
	assert_body_fails("1{1:'v1' 2:'ConfigMap'} 2{2=1}", -EBADMSG, "data: wire type varint");
	assert_body_fails("1{1:'v1' 2:'Service'} 2{2{1{3=80 4{1=2}}}}", -EBADMSG,
	                  "IntOrString type 2");
	assert_body_fails("1{1:'v1' 2:'ConfigMap'} 2{1{8{1=253402300800}}}", -EBADMSG,
	                  "metadata.creationTimestamp: time 253402300800 s is out of range");
	assert_body_fails("1{1:'v1' 2:'ConfigMap'} 2{1{8{1:'x'}}}", -EBADMSG,
	                  "where varint belongs");
	assert_body_fails("1{1:'apps/v1' 2:'ControllerRevision'} 2{2{1:'{nope'}}", -EBADMSG,
	                  "data: embedded object is not JSON: invalid JSON at line 1");
	assert_body_fails("1{1:'v1' 2:'Namespace'} 2{5>}", -EBADMSG, "unexpected end of group");
	assert_body_fails("1{1:'v1' 2:'Namespace'} 2{5< 1=1 6>}", -EBADMSG, "group 5 ends as 6");
	assert_body_fails("1{1:'v1' 2:'Namespace'} 2{5< 1=1}", -EBADMSG, "end of data");
	assert_body_fails("1{1:'v1' 2:'Namespace' 1!3}", -EBADMSG, "fixed64 where bytes");
	assert_body_fails("1{1:'v1' 2:'Namespace'} 3=1", -EBADMSG, "varint where bytes");
}

static void test_deep_nesting_is_refused(void **state)
{
	struct buf n = { 0 };
	buf_adds(&n, "1{1:'v1' 2:'Namespace'} 2{");
	for (int i = 0; i < 200; i++)
		buf_adds(&n, "7< ");
	for (int i = 0; i < 200; i++)
		buf_adds(&n, "7> ");
	buf_adds(&n, "}");
	assert_body_fails(n.data, -EBADMSG, "nested more than");
	buf_free(&n);
}

/* Decodes p and checks the contract: 0 and an object, or an error with a message and no
 * object. Under ASan this is where a read past the input would show. */
static void decode_any(const void *p, size_t n)
{
	cJSON *out = NULL;
	struct err e = { 0 };
	int rc = schema_from_protobuf(p, n, "v1", "Pod", &out, &e);
	if (rc == 0) {
		assert_true(cJSON_IsObject(out));
		cJSON_Delete(out);
	} else {
		assert_null(out);
		assert_true(e.msg[0] != '\0');
		assert_true(rc == -EBADMSG || rc == -ENOENT);
	}
}

static void test_truncated_and_mutated_bodies_never_crash(void **state)
{
	uint32_t seed = 0x5eed1234;
	for (size_t i = 0; i < ARRAY_SIZE(proto_fixtures); i++) {
		const struct proto_fixture *f = &proto_fixtures[i];
		for (size_t k = 0; k < f->len; k++) {
			/* every prefix, in an allocation of its own size so ASan sees over-reads */
			unsigned char *p = xmalloc(k + !k);
			decode_any(memcpy(p, f->pb, k), k);
			free(p);
		}
		unsigned char *copy = xmalloc(f->len);
		for (size_t k = 4; k < f->len; k++) {
			for (int j = 0; j < 6; j++) {
				static const unsigned char set[] = { 0x00, 0xff, 0x80, 0x7f };
				memcpy(copy, f->pb, f->len);
				copy[k] = j < 4 ? set[j] : j == 4 ? copy[k] ^ 1 : copy[k] + 1;
				decode_any(copy, f->len);
			}
		}
		for (int j = 0; j < 200; j++) { /* a few random bytes changed at once */
			memcpy(copy, f->pb, f->len);
			for (int k = 0; k < 4; k++)
				copy[4 + test_rand(&seed) % (f->len - 4)] =
				    (unsigned char)test_rand(&seed);
			decode_any(copy, f->len);
		}
		free(copy);
	}
}

static void test_random_bodies_never_crash(void **state)
{
	static const char *const kinds[][2] = {
		{ "apps/v1", "Deployment" },
		{ "v1", "Pod" },
		{ "batch/v1", "CronJob" },
		{ "v1", "Secret" },
		{ "v1", "Service" },
		{ "apps/v1", "StatefulSet" },
		{ "v1", "Node" },
		{ "policy/v1", "Eviction" },
	};
	uint32_t seed = 42;
	unsigned char raw[512];
	struct buf b = { 0 };
	for (int i = 0; i < 4000; i++) {
		size_t n = test_rand(&seed) % sizeof(raw);
		for (size_t k = 0; k < n; k++)
			raw[k] = (unsigned char)test_rand(&seed);
		/* Mostly small field numbers with sane wire types, so the decoder goes deep. */
		if (i % 2)
			for (size_t k = 0; k < n; k++)
				if (raw[k] & 0x80 && test_rand(&seed) % 4)
					raw[k] = (unsigned char)((raw[k] & 0x3a) | 0x02);
		const char *const *k = kinds[i % ARRAY_SIZE(kinds)];
		buf_reset(&b);
		buf_add(&b, "k8s", 4);
		struct buf env = { 0 }, tm = { 0 }, r = { 0 };
		tag(&tm, 1, 2);
		varint(&tm, strlen(k[0]));
		buf_adds(&tm, k[0]);
		tag(&tm, 2, 2);
		varint(&tm, strlen(k[1]));
		buf_adds(&tm, k[1]);
		len_prefixed(&env, 1, &tm);
		buf_add(&r, raw, n);
		len_prefixed(&env, 2, &r);
		buf_add(&b, env.data, env.len);
		decode_any(b.data, b.len);
		decode_any(raw, n);
		buf_free(&env);
		buf_free(&tm);
		buf_free(&r);
	}
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubectl_create_bodies_decode_to_the_json_kubectl_prints),
		cmocka_unit_test(test_deployment_with_probes_env_and_resources),
		cmocka_unit_test(test_configmap_data_and_binary_data),
		cmocka_unit_test(test_secret_values_are_base64),
		cmocka_unit_test(test_service_target_ports_are_numbers_or_names),
		cmocka_unit_test(test_namespace),
		cmocka_unit_test(test_job_with_packed_and_unpacked_exit_codes),
		cmocka_unit_test(test_cronjob),
		cmocka_unit_test(test_eviction_carries_its_delete_options),
		cmocka_unit_test(test_csr_approval_with_conditions_and_extra),
		cmocka_unit_test(test_times_are_rfc3339_and_micro_times_have_microseconds),
		cmocka_unit_test(test_raw_extension_is_embedded_json),
		cmocka_unit_test(test_zeros_stay_where_go_json_keeps_them),
		cmocka_unit_test(test_unknown_fields_of_any_wire_type_are_skipped),
		cmocka_unit_test(test_repeated_fields_merge_as_protobuf_does),
		cmocka_unit_test(test_int64_and_negative_values),
		cmocka_unit_test(test_volume_sources_are_inline),
		cmocka_unit_test(test_envelope_kind_defaults_to_the_endpoint),
		cmocka_unit_test(test_delete_options_of_any_group_version),
		cmocka_unit_test(test_kinds_that_are_not_served_are_enoent),
		cmocka_unit_test(test_malformed_bodies_are_errors),
		cmocka_unit_test(test_deep_nesting_is_refused),
		cmocka_unit_test(test_truncated_and_mutated_bodies_never_crash),
		cmocka_unit_test(test_random_bodies_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
