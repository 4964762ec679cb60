#!/usr/bin/env python3
# openapi_server: a stand-in API server for test/e2e/schema.sh. It serves the OpenAPI documents
# written by schema_dump, and the legacy discovery documents kubectl needs, derived from them.
#
#   openapi_server.py <dump-dir> <port-file> [<patch-log>]
#
# It also keeps objects in memory so that `kubectl apply` can run: POST stores the body, GET of
# an object returns it, PATCH appends the request's Content-Type and body to <patch-log> (one
# JSON line each) and answers with the stored object unchanged: the check is of what kubectl
# sends, computed from our documents, not of merging.
#
# Listens on 127.0.0.1 with an ephemeral port, writes the port to <port-file>, serves until
# killed. Standard library only.
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DUMP = sys.argv[1]


def load(path):
    with open(os.path.join(DUMP, path), 'rb') as f:
        return f.read()


INDEX = json.loads(load('v3.json'))
DOCS = {gv: load('v3/%s.json' % gv) for gv in INDEX['paths']}

# Discovery from the documents: every collection path with a GVK'd GET is a resource.
RESOURCES = {}  # "v1" or "apps/v1" -> [APIResource]
for gv, raw in DOCS.items():
    doc = json.loads(raw)
    api_version = gv.split('/', 1)[1]
    for path, item in doc['paths'].items():
        if path.endswith('}'):
            continue
        gvk = item['get']['x-kubernetes-group-version-kind']
        RESOURCES.setdefault(api_version, []).append({
            'name': path.rsplit('/', 1)[1],
            'singularName': gvk['kind'].lower(),
            'namespaced': '{namespace}' in path,
            'kind': gvk['kind'],
            'verbs': ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        })


OBJECTS = {}  # path of an object -> object


def status(code, msg):
    return json.dumps({'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
                       'message': msg, 'code': code}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        sys.stderr.write('%s\n' % (fmt % args))

    def reply(self, code, body, ctype='application/json'):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split('?', 1)[0]
        groups = sorted({v.split('/')[0] for v in RESOURCES if '/' in v})
        if path == '/version':
            return self.reply(200, json.dumps({'major': '1', 'minor': '32', 'gitVersion': 'v1.32.0',
                                               'platform': 'linux/amd64'}).encode())
        if path == '/api':
            return self.reply(200, json.dumps({'kind': 'APIVersions', 'versions': ['v1'],
                                               'serverAddressByClientCIDRs': []}).encode())
        if path == '/apis':
            lst = []
            for g in groups:
                vs = [{'groupVersion': v, 'version': v.split('/')[1]} for v in RESOURCES if v.startswith(g + '/')]
                lst.append({'name': g, 'versions': vs, 'preferredVersion': vs[0]})
            return self.reply(200, json.dumps({'kind': 'APIGroupList', 'apiVersion': 'v1', 'groups': lst}).encode())
        m = re.fullmatch(r'/api/(v1)|/apis/([^/]+/[^/]+)', path)
        if m:
            gv = m.group(1) or m.group(2)
            if gv in RESOURCES:
                return self.reply(200, json.dumps({'kind': 'APIResourceList', 'apiVersion': 'v1',
                                                   'groupVersion': gv, 'resources': RESOURCES[gv]}).encode())
        if path == '/openapi/v2':
            if 'com.github.proto-openapi.spec.v2' in self.headers.get('Accept', ''):
                return self.reply(200, load('v2.pb'),
                                  'application/com.github.proto-openapi.spec.v2.v1.0+protobuf')
            return self.reply(200, load('v2.json'))
        if path == '/openapi/v3':
            return self.reply(200, load('v3.json'))
        if path.startswith('/openapi/v3/') and path[12:] in DOCS:
            return self.reply(200, DOCS[path[12:]])
        if path in OBJECTS:
            return self.reply(200, json.dumps(OBJECTS[path]).encode())
        return self.reply(404, status(404, 'the server could not find the requested resource'))

    def body(self):
        return self.rfile.read(int(self.headers.get('Content-Length', '0')))

    def do_POST(self):
        obj = json.loads(self.body())
        meta = obj.setdefault('metadata', {})
        meta.setdefault('namespace', 'default')
        meta.update({'uid': 'u-%d' % len(OBJECTS), 'resourceVersion': '1',
                     'creationTimestamp': '2024-01-01T00:00:00Z'})
        OBJECTS[self.path.split('?', 1)[0] + '/' + meta['name']] = obj
        self.reply(201, json.dumps(obj).encode())

    def do_PATCH(self):
        path = self.path.split('?', 1)[0]
        body = self.body()
        if len(sys.argv) > 3:
            with open(sys.argv[3], 'a') as f:
                f.write(json.dumps({'type': self.headers.get('Content-Type'), 'query': self.path,
                                    'patch': json.loads(body)}) + '\n')
        if path not in OBJECTS:
            return self.reply(404, status(404, 'not found'))
        self.reply(200, json.dumps(OBJECTS[path]).encode())


def main():
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    tmp = sys.argv[2] + '.tmp'
    with open(tmp, 'w') as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, sys.argv[2])
    srv.serve_forever()


if __name__ == '__main__':
    main()
