/*
 * What a PROXY protocol header says (HAProxy's proxy-protocol.txt, versions 1 and 2), and what reading one
 * answers: wait for more bytes, done with a header, or refused with a reason.
 */

/** An endpoint the header names: an IP address and port, or (AF_UNIX) a socket path. */
export type ProxyEndpoint =
  | { readonly address: string; readonly port: number; readonly path?: undefined }
  | { readonly path: string; readonly address?: undefined; readonly port?: undefined }

/** PP2_TYPE_SSL: how the client reached the proxy over TLS (proxy-protocol.txt §2.2.5). */
export interface ProxySsl {
  /** PP2_CLIENT_SSL: the client connected over SSL/TLS. */
  readonly ssl: boolean
  /** PP2_CLIENT_CERT_CONN: the client gave a certificate on this connection. */
  readonly certificateOnConnection: boolean
  /** PP2_CLIENT_CERT_SESS: the client gave a certificate at least once in this TLS session. */
  readonly certificateInSession: boolean
  /** 0 when the certificate was verified (or none was given). */
  readonly verify: number
  /** PP2_SUBTYPE_SSL_VERSION ("TLSv1.3"). */
  readonly version?: string
  /** PP2_SUBTYPE_SSL_CN: the client certificate's Common Name. */
  readonly commonName?: string
  /** PP2_SUBTYPE_SSL_CIPHER ("ECDHE-RSA-AES128-GCM-SHA256"). */
  readonly cipher?: string
  /** PP2_SUBTYPE_SSL_SIG_ALG: the certificate's signature algorithm ("SHA256"). */
  readonly signatureAlgorithm?: string
  /** PP2_SUBTYPE_SSL_KEY_ALG: the certificate's key algorithm ("RSA2048"). */
  readonly keyAlgorithm?: string
  /** Sub-TLVs not named above, by type. */
  readonly others: readonly ProxyTlv[]
}

/** A TLV as it came: type and value. */
export interface ProxyTlv { readonly type: number; readonly value: Uint8Array }

/** The TLVs of a v2 header (none on v1). */
export interface ProxyTlvs {
  /** PP2_TYPE_ALPN: the protocol the client negotiated with the proxy ("h2", "http/1.1"). */
  readonly alpn?: string
  /** PP2_TYPE_AUTHORITY: the host name the client asked for (TLS SNI), UTF-8. */
  readonly authority?: string
  /** PP2_TYPE_UNIQUE_ID: the proxy's id for the connection (at most 128 bytes). */
  readonly uniqueId?: Uint8Array
  /** PP2_TYPE_CRC32C, already checked against the header: present only when it matched. */
  readonly crc32c?: number
  /** PP2_TYPE_SSL with its sub-TLVs. */
  readonly ssl?: ProxySsl
  /** PP2_TYPE_NETNS: the namespace the proxy accepted the connection in. */
  readonly netns?: string
  /** Every other TLV (custom 0xE0-0xEF, AWS's 0xEA, Azure's 0xEE...), in order. PP2_TYPE_NOOP is skipped. */
  readonly others: readonly ProxyTlv[]
}

/** A PROXY header, read. */
export interface ProxyHeader {
  readonly version: 1 | 2
  /**
   * 'proxy': the connection was relayed for `source`. 'local': the proxy speaks for itself (a health check):
   * keep the socket's real endpoints, whatever addresses follow (proxy-protocol.txt §2.2).
   */
  readonly command: 'proxy' | 'local'
  /** v1's TCP4/TCP6/UNKNOWN are 'inet'/'inet6'/'unspec'. */
  readonly family: 'inet' | 'inet6' | 'unix' | 'unspec'
  readonly transport: 'stream' | 'dgram' | 'unspec'
  /** The client, when the command is 'proxy' and the family is known; otherwise undefined. */
  readonly source: ProxyEndpoint | undefined
  /** The address the client connected to, on the proxy. */
  readonly destination: ProxyEndpoint | undefined
  readonly tlvs: ProxyTlvs
}

/** Why a header was refused (a stable code, for logs and tests). */
export type ProxyHeaderErrorCode =
  | 'NOT_PROXY' | 'V1_TOO_LONG' | 'V1_MALFORMED' | 'V2_BAD_VERSION' | 'V2_BAD_COMMAND' | 'V2_BAD_FAMILY'
  | 'V2_TOO_LONG' | 'V2_SHORT_ADDRESS' | 'V2_BAD_TLV' | 'V2_BAD_CRC32C'

/** What reading the bytes so far answers. */
export type ProxyHeaderRead =
  | { readonly state: 'more' }
  | { readonly state: 'done'; readonly consumed: number; readonly header: ProxyHeader }
  | { readonly state: 'error'; readonly code: ProxyHeaderErrorCode; readonly reason: string }
