/*
 * The nginx contender: one worker in the foreground (`master_process off`), no access log, and the `server`
 * block's locations given by the suite. Every instance shares one prefix, bench/.work/nginx/ (its temporary
 * folders), with a config and a pid file named by its port.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { nginx, root } from '../lib/compare.ts'

/** Writes a config for `port` and returns the command that runs nginx with it. */
export function nginxConfig(port: number, locations: string, http = ''): string[] {
  const prefix = `${root}bench/.work/nginx/`
  mkdirSync(`${prefix}logs`, { recursive: true }) // nginx opens logs/ before it reads the config
  const config = `nginx-${port}.conf`
  writeFileSync(`${prefix}${config}`, `daemon off;
master_process off;
worker_processes 1;
error_log stderr error;
pid ${prefix}nginx-${port}.pid;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  keepalive_requests 10000000;
  client_body_temp_path ${prefix}body;
  proxy_temp_path ${prefix}proxy;
  fastcgi_temp_path ${prefix}fastcgi;
  uwsgi_temp_path ${prefix}uwsgi;
  scgi_temp_path ${prefix}scgi;
  ${http}
  server {
    listen 127.0.0.1:${port};
    ${locations}
  }
}
`)
  return [nginx!, '-e', 'stderr', '-p', prefix, '-c', config]
}
