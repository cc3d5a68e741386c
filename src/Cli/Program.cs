using MeshOs.Cli;

return await MeshCtl.Parse(args).InvokeAsync();
