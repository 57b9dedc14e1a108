// The hello handler as a module, so that worker threads can load it (a function cannot cross threads).
import type { Request, Response } from '../../src/index.ts'

export default function hello(request: Request, response: Response): void {
  if (request.path === '/') response.send('Hello, World!')
  else response.status(404).send('Not Found\n')
}
