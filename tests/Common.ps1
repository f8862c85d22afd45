# Dot-sourced by the Pester suites: imports the staged module and locates the test vectors (tests/vectors, see its README).
Set-StrictMode -Version Latest
if (-not $env:DAXFS_MODULE_PATH) { $env:DAXFS_MODULE_PATH = Join-Path $PSScriptRoot '../out/DaxFs/DaxFs.psd1' }
Import-Module $env:DAXFS_MODULE_PATH -Force
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
$script:Vectors = Join-Path $script:RepoRoot 'tests/vectors'

# Runs a command that must be refused with a terminating error (-ErrorAction Stop) and checks its error id and
# category; returns the ErrorRecord for further checks of its message.
function Assert-Refused {
    param([Parameter(Mandatory)] [scriptblock] $ScriptBlock, [Parameter(Mandatory)] [string] $ErrorId, [string] $Category)
    $e = $ScriptBlock | Should -Throw -PassThru
    $e.FullyQualifiedErrorId | Should -Be $ErrorId
    if ($Category) { "$($e.CategoryInfo.Category)" | Should -Be $Category }
    $e
}

# The same PowerShell as this one, as a command line: 'dotnet pwsh.dll' for the tool manifest's pwsh, the apphost otherwise.
function Get-PwshCommand {
    $pwsh = @([Environment]::ProcessPath)
    if ([IO.Path]::GetFileNameWithoutExtension($pwsh[0]) -eq 'dotnet') { $pwsh += (Join-Path $PSHOME 'pwsh.dll') }
    , $pwsh
}

# The test tree tools (tests/Integration/TreeTools): the listing type and the one comparison of a listing with a vector's
# NAME.expected.json (VectorListing.Compare), shared with the xunit suite and the VM suite. Built (Release, as the xunit
# build leaves it) when missing or older than its sources; loaded once per process.
function Import-TreeTools {
    if ('DaxFs.TreeTools.VectorListing' -as [type]) { return }
    $project = Join-Path $script:RepoRoot 'tests/Integration/TreeTools'
    $dll = Join-Path $project 'bin/Release/net8.0/DaxFs.TreeTools.dll'
    $newest = Get-ChildItem $project -Filter *.cs* -File | Sort-Object LastWriteTimeUtc -Descending | Select-Object -First 1
    if (-not (Test-Path $dll) -or (Get-Item $dll).LastWriteTimeUtc -lt $newest.LastWriteTimeUtc) {
        $out = & dotnet build (Join-Path $project 'DaxFs.TreeTools.csproj') -c Release --nologo -v q -clp:ErrorsOnly 2>&1
        if ($LASTEXITCODE) { throw "Building tests/Integration/TreeTools failed: $out" }
    }
    Add-Type -Path $dll
}
Import-TreeTools

# The listing of an image made through the cmdlets (Get-DaxFsItem -Recurse, Get-DaxFsContent for the hashes), as
# TreeTools entries: the root is not listed (Get-DaxFsItem lists what is under it); link_group is the smallest path
# (ordinal) of each group of paths sharing one inode.
function Get-ImageListing {
    param([Parameter(Mandatory)] $Image, [string] $BackingFile)
    $extra = @{}
    if ($BackingFile) { $extra.BackingFile = $BackingFile }
    $all = @(Get-DaxFsItem $Image -Recurse @extra)
    $groups = @{}
    $all | Where-Object Type -eq 'File' | Group-Object Inode | Where-Object Count -gt 1 | ForEach-Object {
        [string[]] $names = $_.Group.FullName
        [Array]::Sort($names, [StringComparer]::Ordinal)
        $groups[[string]$_.Name] = $names[0]
    }
    $result = [Collections.Generic.List[DaxFs.TreeTools.TreeEntry]]::new()
    foreach ($i in $all) {
        $e = @{ Path = $i.FullName; Mode = [int]$i.Permissions; Uid = [uint32]$i.Uid; Gid = [uint32]$i.Gid; Inode = [uint64]$i.Inode }
        switch ($i.Type) {
            'Directory' { $e.Type = 'dir' }
            'SymbolicLink' { $e.Type = 'symlink'; $e.Target = $i.Target }
            'File' {
                $bytes = $i | Get-DaxFsContent -AsByteStream @extra
                $e.Type = 'file'
                $e.Size = [long]$i.Size
                $e.Sha256 = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([byte[]]$bytes)).ToLowerInvariant()
                if ($groups.ContainsKey([string]$i.Inode)) { $e.LinkGroup = $groups[[string]$i.Inode] }
            }
            default { $e.Type = 'other' }
        }
        $result.Add([DaxFs.TreeTools.TreeEntry]$e)
    }
    , $result
}

# A listing (Get-ImageListing, or TreeListing.List of a directory) against NAME.expected.json by the one comparison
# (VectorListing.Compare); returns the differences (empty when equal). -RootListed: the listing has "/" (a directory's
# listing does; Get-ImageListing's does not).
function Compare-VectorListing {
    param([Parameter(Mandatory)] $Listing, [Parameter(Mandatory)] [string] $ExpectedJson, [switch] $IgnoreOwner, [switch] $RootListed)
    , @([DaxFs.TreeTools.VectorListing]::Compare($Listing, $ExpectedJson, [bool]$IgnoreOwner, [bool]$RootListed))
}

# Runs a script block in a child pwsh that has lost CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so that, as root, an entry
# whose mode denies the owner (chmod 000) is really unreadable or unwritable; root's own files (the NuGet cache, dotnet,
# the staged module) stay readable because root owns them. The tool is setpriv (util-linux, essential in Debian) or
# else capsh (libcap2-bin). Returns the child's output, converted back from JSON (keep it to plain values: strings,
# numbers, arrays), or a [string] saying why no child could run: neither tool is there, or this process cannot drop
# the capabilities (a container without CAP_SETPCAP, for one). A failure of the child itself throws with its output.
function Invoke-WithoutDacOverride {
    param([Parameter(Mandatory)] [scriptblock] $ScriptBlock, [object[]] $ArgumentList = @())
    $drop = if (Get-Command setpriv -CommandType Application -ErrorAction Ignore) {
        @('setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--inh-caps', '-all', '--')
    }
    elseif (Get-Command capsh -CommandType Application -ErrorAction Ignore) {
        # capsh hands the words after -- to bash: exec the child itself.
        @('capsh', '--drop=cap_dac_override,cap_dac_read_search', '--inh=', '--', '-c', 'exec "$0" "$@"')
    }
    if (-not $drop) { return 'neither setpriv (util-linux) nor capsh (libcap2-bin) is installed to drop CAP_DAC_OVERRIDE' }

    # Does the drop work here? The child must see neither capability in its effective set (bits 1 and 2).
    $probe = & $drop[0] @($drop[1..($drop.Count - 1)]) cat /proc/self/status 2>&1 | ForEach-Object { "$_" }
    $capEff = $probe | Where-Object { $_ -match '^CapEff:\s+([0-9a-f]+)$' } | ForEach-Object { [Convert]::ToUInt64($Matches[1], 16) }
    if ($LASTEXITCODE -ne 0 -or $null -eq $capEff) { return "this process cannot drop capabilities ($($drop[0]): $($probe -join ' '))" }
    if ($capEff -band 6) { return "$($drop[0]) ran, but the child still holds CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH (CapEff $('{0:x}' -f $capEff))" }

    $pwsh = Get-PwshCommand
    $wrapper = Join-Path ([IO.Path]::GetTempPath()) "daxfs-nodac-$PID-$([guid]::NewGuid().ToString('n').Substring(0, 8)).ps1"
    Set-Content -LiteralPath $wrapper -Value @'
param([string] $ModulePath, [string] $Body, [string] $ArgumentsJson)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module $ModulePath
$arguments = @(ConvertFrom-Json $ArgumentsJson)
$result = & ([scriptblock]::Create($Body)) @arguments
ConvertTo-Json -InputObject $result -Depth 6 -Compress
'@
    try {
        $arguments = ConvertTo-Json -InputObject @($ArgumentList) -Depth 6 -Compress
        $out = @(& $drop[0] @($drop[1..($drop.Count - 1)]) @pwsh -NoProfile -NonInteractive -File $wrapper `
            -ModulePath $env:DAXFS_MODULE_PATH -Body $ScriptBlock.ToString() -ArgumentsJson $arguments 2>&1 | ForEach-Object { "$_" })
    }
    finally { Remove-Item -LiteralPath $wrapper -ErrorAction Ignore }
    if ($LASTEXITCODE -ne 0) { throw "The child pwsh without CAP_DAC_OVERRIDE failed (exit $LASTEXITCODE): $($out -join "`n")" }
    @($out)[-1] | ConvertFrom-Json
}

# The fake host's building blocks (sysfs, /dev, mountinfo, ndctl/daxctl, DAXFS_* variables).
. (Join-Path $PSScriptRoot 'FakeHost.ps1')
